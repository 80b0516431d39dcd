/**
 * A file name as GNU wc 9.1 prints one that holds a newline (coreutils'
 * `quotef`: gnulib's shell-escape quoting, in C.UTF-8), so that one row stays
 * one line: `'a'$'\n''b'`. Other names are printed as they are, as wc does.
 * The error lines use it too, so that an error stays one line.
 */
import { createRequire } from 'node:module';

type Printable = (cp: number) => boolean;
let printable: Printable | undefined;

const LETTERS: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r' };

export function quoteName(name: string): string {
  if (!name.includes('\n')) return name;
  // The code point tables load only for such a name (a synchronous require of the CommonJS kernels).
  printable ??= (createRequire(import.meta.url)('../kernels-js.cjs') as { printableUtf8: Printable }).printableUtf8;
  const first = quotePass(name, printable, false);
  // gnulib 2022 scans a name holding a quote once more, and that pass starts
  // in the escape state the first one ended in (its pending flag is not
  // reset): wc 9.1 prints `'''a'\'''$'\n'` for "a'\n", and so do we.
  return name.includes("'") ? quotePass(name, printable, first.inEscape).text : first.text;
}

/** One pass of gnulib's shell-escape-always quoting; `inEscape`: inside `$'...'`. */
function quotePass(name: string, isPrintable: Printable, inEscape: boolean): { text: string; inEscape: boolean } {
  let text = "'";
  for (const ch of name) {
    if (ch === "'") {
      text += "'\\''";
      inEscape = false;
    } else if (isPrintable(ch.codePointAt(0)!)) {
      if (inEscape) text += "''";
      inEscape = false;
      text += ch;
    } else {
      if (!inEscape) text += "'$'";
      inEscape = true;
      for (const byte of Buffer.from(ch, 'utf8')) text += `\\${LETTERS[byte] ?? byte.toString(8).padStart(3, '0')}`;
    }
  }
  return { text: `${text}'`, inEscape };
}
