#!/usr/bin/env node
// The CSV of the csv-* benches (issue 19): a header, then rows
//   id,"name",price,qty,"comment"
// with quoted fields everywhere, commas and doubled quotes inside them,
// non-ASCII names, ~1% empty prices, comments of 20-300 bytes, and (unless
// --no-quoted-newlines) a newline inside ~2% of the comments. The plain
// variant has a space there instead: the same bytes and rows, so that a
// 'lines' job can read it. Deterministic for a seed.
//
//   node bench/gen-csv.mjs FILE BYTES [SEED] [--no-quoted-newlines]
//     -> JSON { rows, bytes, priced } on stdout (priced: rows with a price)
import { closeSync, openSync, writeSync } from 'node:fs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const plain = process.argv.includes('--no-quoted-newlines');
const [file, bytesArg, seedArg] = args;
const target = Number(bytesArg);
if (!file || !(target > 0)) {
  console.error('usage: gen-csv.mjs FILE BYTES [SEED] [--no-quoted-newlines]');
  process.exit(2);
}

let state = Number(seedArg ?? 1) >>> 0;
/** mulberry32 */
const next = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const NAMES = ['Hamburg, DE', 'Zürich', 'São Paulo', 'Kraków', 'say ""hi""', 'plain', 'Reykjavík', '東京', 'Ōsaka, JP', 'New York, NY', 'a "quoted" name'.replaceAll('"', '""')];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet,', 'consectetur', 'adipiscing', 'elit', '""quoted""', 'sed', 'do', 'eiusmod', 'tempor'];

function comment() {
  const words = 3 + Math.floor(next() * 40);
  let s = '';
  for (let i = 0; i < words; i++) s += (i ? ' ' : '') + WORDS[Math.floor(next() * WORDS.length)];
  if (next() < 0.02) {
    const at = s.indexOf(' ', s.length >> 1);
    if (at > 0) s = `${s.slice(0, at)}${plain ? ' ' : '\n'}${s.slice(at + 1)}`;
  }
  return s;
}

const fd = openSync(file, 'w');
let written = 0;
let rows = 0;
let priced = 0;
const parts = ['id,name,price,qty,comment\n'];
let pending = parts[0].length;
const flush = () => {
  const buffer = Buffer.from(parts.join(''));
  writeSync(fd, buffer);
  written += buffer.length;
  parts.length = 0;
  pending = 0;
};
while (written + pending < target) {
  const cents = Math.floor(next() * 2_000_000) - 1_000_000;
  const price = next() < 0.01 ? '' : (cents / 100).toFixed(2);
  if (price !== '') priced++;
  const line = `${rows},"${NAMES[Math.floor(next() * NAMES.length)]}",${price},${Math.floor(next() * 1000)},"${comment()}"\n`;
  parts.push(line);
  pending += line.length; // close enough for the flush threshold; bytes are counted exactly on write
  rows++;
  if (pending >= 8 << 20) flush();
}
flush();
closeSync(fd);
process.stdout.write(`${JSON.stringify({ rows, bytes: written, priced })}\n`);
