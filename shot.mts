import { launchBrowser } from './test/helpers/browser.ts';
const [html, out] = process.argv.slice(2);
const b = await launchBrowser();
const page = await b.context.newPage();
await page.goto(`file://${html}`, { waitUntil: 'load' });
await page.screenshot({ path: out, fullPage: true });
await b.close();
