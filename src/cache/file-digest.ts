// sha256 of a file read in chunks with async I/O, so hashing a large entry leaves the event loop
// free between reads (progress, IPC with workers, signals).
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export async function sha256FileAsync(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
