import type { Progress } from '../domain/progress.js';

/**
 * Progress on the terminal: one line rewritten in place on a TTY, plain lines
 * otherwise (CI logs, pipes), so output stays readable in both.
 */
export class TerminalProgress {
  private lastLine = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(progress: Progress): void {
    const width = 24;
    const filled = progress.total > 0 ? Math.round((progress.step / progress.total) * width) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} ${progress.step}/${progress.total} ${progress.label ?? ''}`.trimEnd();
    if (line === this.lastLine) return;
    this.lastLine = line;
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2K${line}`);
    else this.stream.write(`${line}\n`);
  }

  /** Ends the in-place line so later output starts on a fresh line. */
  done(message?: string): void {
    if (this.stream.isTTY && this.lastLine) this.stream.write('\r\x1b[2K');
    if (message) this.stream.write(`${message}\n`);
    this.lastLine = '';
  }
}
