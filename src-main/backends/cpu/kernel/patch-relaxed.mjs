// Rewrites clang-14's prototype relaxed-SIMD opcode f32x4.fma (0xfd 0xaf 0x01) to the standard
// f32x4.relaxed_madd (0xfd 0x85 0x02), at the exact instruction offsets llvm-objdump reports.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [src, dst] = process.argv.slice(2);
const buf = Buffer.from(readFileSync(src));
let pos = 8;
const leb = () => {
  let value = 0, shift = 0, byte;
  do { byte = buf[pos++]; value |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
  return value;
};
let codeStart = -1;
while (pos < buf.length) {
  const id = buf[pos++];
  const size = leb();
  if (id === 10) { codeStart = pos; break; }
  pos += size;
}
if (codeStart < 0) throw new Error(`${src}: no code section`);
const listing = execFileSync('llvm-objdump-14', ['-d', src], { encoding: 'utf8', maxBuffer: 1 << 26 });
let patched = 0;
for (const line of listing.split('\n')) {
  if (/f32x4\.fms|f64x2\.fm/.test(line)) throw new Error(`unexpected relaxed op: ${line.trim()}`);
  const m = /^\s*([0-9a-f]+):\s+fd af 01\s+f32x4\.fma/.exec(line);
  if (!m) continue;
  const at = codeStart + parseInt(m[1], 16);
  if (buf[at] !== 0xfd || buf[at + 1] !== 0xaf || buf[at + 2] !== 0x01) throw new Error(`no f32x4.fma at ${at}`);
  buf[at + 1] = 0x85;
  buf[at + 2] = 0x02;
  patched++;
}
if (patched === 0) throw new Error(`${src}: no f32x4.fma found`);
writeFileSync(dst, buf);
