/**
 * The progress display on stderr: a bar, percent, amount done of the total,
 * rate, elapsed time and ETA, fitted to the terminal's width and redrawn in
 * place. It appears only after a second, so short runs stay clean; it is
 * erased before anything else is written to the same terminal (see
 * `suspend`), and cleared at the end.
 *
 * On a terminal without colour (NO_COLOR) it redraws with `\r` and spaces
 * only, no escape sequences. On a stderr that is not a terminal, `--progress`
 * gives a plain line every few seconds instead.
 */
import { formatBytes } from './format.js';

export interface ProgressOptions {
  /** Show anything at all (`--progress`, or stderr is a terminal, and not `--no-progress`). */
  enabled: boolean;
  /** What is counted: bytes, or a named count such as rows. */
  unit?: { name: string } | 'bytes';
  /** The stream drawn on; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Delay before the first drawing, ms; default 1000. */
  delayMs?: number;
  /** Milliseconds between plain lines when the stream is not a terminal; default 5000. */
  plainEveryMs?: number;
}

const BAR_MIN = 10;

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function count(n: number): string {
  if (n < 1e4) return String(Math.round(n));
  const units = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 ? n.toFixed(0) : n.toFixed(1)}${units[i]}`;
}

export class ProgressDisplay {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly escapes: boolean;
  private readonly startedAt = performance.now();
  private readonly delayMs: number;
  private readonly plainEveryMs: number;
  private readonly unit: ProgressOptions['unit'];
  /** Width of what is on screen now (0: nothing drawn). */
  private drawnWidth = 0;
  private lastPlain = -Infinity;
  private last: { done: number; total: number | undefined } | undefined;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.escapes = this.tty && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && process.env.TERM !== 'dumb';
    this.delayMs = options.delayMs ?? 1000;
    this.plainEveryMs = options.plainEveryMs ?? 5000;
    this.unit = options.unit ?? 'bytes';
  }

  get enabled(): boolean {
    return this.options.enabled && !this.finished;
  }

  /** Records progress; draws if it is time. `total` undefined: unknown (no percent, no ETA). */
  update(done: number, total: number | undefined): void {
    if (!this.enabled) return;
    this.last = { done, total: total !== undefined && total > 0 ? total : undefined };
    const now = performance.now();
    if (now - this.startedAt < this.delayMs) return;
    if (this.tty) this.draw();
    else if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      this.stream.write(`pagewise: ${this.parts(now).join(', ')}\n`);
    }
  }

  /** Erases the display before something else is written to the same terminal; the next update redraws it. */
  suspend(): void {
    if (this.drawnWidth === 0) return;
    this.stream.write(this.escapes ? '\r\x1b[K' : `\r${' '.repeat(this.drawnWidth)}\r`);
    this.drawnWidth = 0;
  }

  /** Clears the display for good. */
  finish(): void {
    this.suspend();
    this.finished = true;
  }

  private elapsed(now: number): number {
    return (now - this.startedAt) / 1000;
  }

  private amount(n: number): string {
    return this.unit === 'bytes' ? formatBytes(n) : `${count(n)} ${this.unit!.name}`;
  }

  private rate(done: number, seconds: number): string {
    const r = seconds > 0 ? done / seconds : 0;
    return this.unit === 'bytes' ? `${formatBytes(Math.round(r))}/s` : `${count(r)} ${this.unit!.name}/s`;
  }

  /** The text fields, most important first (later ones are dropped when the line is too narrow). */
  private parts(now: number): string[] {
    const { done, total } = this.last!;
    const seconds = this.elapsed(now);
    const parts: string[] = [];
    if (total !== undefined) {
      const fraction = Math.min(1, done / total);
      parts.push(`${Math.floor(fraction * 100)}%`.padStart(4));
      parts.push(`${this.amount(done)} / ${this.amount(total)}`);
    } else parts.push(this.amount(done));
    if (done > 0) parts.push(this.rate(done, seconds));
    parts.push(clock(seconds));
    // An ETA only once the rate means something (some progress, past the delay).
    if (total !== undefined && done > 0 && done < total) parts.push(`ETA ${clock(((total - done) * seconds) / done)}`);
    return parts;
  }

  private draw(): void {
    const now = performance.now();
    // One column short of the width: writing the last column wraps on some terminals.
    const columns = Math.max(20, (this.stream.columns || 80) - 1);
    const parts = this.parts(now);
    const { done, total } = this.last!;
    let textPart = parts.join('  ');
    while (textPart.length > columns - BAR_MIN - 3 && parts.length > 1) {
      parts.pop();
      textPart = parts.join('  ');
    }
    let line: string;
    const barWidth = Math.min(40, columns - textPart.length - 3);
    if (barWidth >= BAR_MIN) {
      let bar: string;
      if (total !== undefined) {
        const filled = Math.round(Math.min(1, done / total) * barWidth);
        bar = filled >= barWidth ? '='.repeat(barWidth) : `${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(barWidth - Math.max(1, filled))}`;
      } else {
        // Unknown total: a marker that moves, so the display still shows life.
        const span = barWidth - 3;
        const at = Math.floor(this.elapsed(now) * 8) % (2 * span);
        const pos = at <= span ? at : 2 * span - at;
        bar = `${' '.repeat(pos)}<=>`.padEnd(barWidth);
      }
      line = `[${bar}] ${textPart}`;
    } else line = textPart;
    if (line.length > columns) line = line.slice(0, columns);
    const pad = this.escapes ? '' : ' '.repeat(Math.max(0, this.drawnWidth - line.length));
    this.stream.write(this.escapes ? `\r${line}\x1b[K` : `\r${line}${pad}`);
    this.drawnWidth = line.length;
  }
}

/** Whether to show progress: `--progress`/`--no-progress`, else only when stderr is a terminal. */
export function wantsProgress(flag: unknown): boolean {
  if (flag === false) return false;
  if (flag === true) return true;
  return process.stderr.isTTY === true;
}
