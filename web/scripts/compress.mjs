// Writes FILE.gz beside each text asset of dist/ so `escala serve` sends them compressed
// (it has no compressor of its own), and prints the compressed JavaScript total.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(js|css|html|svg|json|txt)$/;
let jsRaw = 0;
let jsGz = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) { walk(path); continue; }
    if (!compressible.test(name)) continue;
    const raw = readFileSync(path);
    const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
    writeFileSync(path + '.gz', gz);
    if (name.endsWith('.js')) { jsRaw += raw.length; jsGz += gz.length; }
  }
}
walk(dist);
console.log(`web: JavaScript ${(jsRaw / 1024).toFixed(1)} KiB, ${(jsGz / 1024).toFixed(1)} KiB gzip`);
