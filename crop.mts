import sharp from 'sharp';
const [src, prefix, stepS] = process.argv.slice(2);
const step = Number(stepS ?? 1400);
const m = await sharp(src).metadata();
for (let i = 0, k = 0; i < m.height!; i += step, k++) await sharp(src).extract({ left: 0, top: i, width: m.width!, height: Math.min(step, m.height! - i) }).toFile(`${prefix}_${k}.png`);
console.log(m.width, m.height);
