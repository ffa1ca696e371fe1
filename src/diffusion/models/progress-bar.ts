/**
 * One-line terminal rendering of a download's progress, e.g.
 * `[####......] 1.2 GB / 3.4 GB  45.1 MB/s  ETA 48s`. Pure formatting plus a
 * small throttled printer for the CLI; nothing here touches the network.
 */

export interface DownloadProgress {
  /** Bytes of the file on disk so far, including any resumed from a `.part`. */
  receivedBytes: number;
  /** Size of the whole file when the server (or the manifest) told us. */
  totalBytes?: number;
  /** Recent transfer speed; 0 before the first byte arrives. */
  bytesPerSecond: number;
}

export interface ProgressBarOptions {
  /** Characters inside the brackets. */
  width?: number;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** Decimal (SI) sizes, the way model hubs print them: `512 B`, `1.2 GB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '? B';
  let value = bytes;
  let unit = 0;
  // Round first so 999_950 prints as `1.0 MB`, not `1000.0 kB`.
  while (unit < UNITS.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `48s`, `3m 05s`, `2h 07m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const minutes = Math.floor(s / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * `[#####.....] 1.2 GB / 3.4 GB  45.1 MB/s  ETA 48s`; without a known total,
 * just `1.2 GB  45.1 MB/s`.
 */
export function formatDownloadProgress(p: DownloadProgress, options: ProgressBarOptions = {}): string {
  const width = Math.max(1, Math.floor(options.width ?? 10));
  const speed = `${formatBytes(p.bytesPerSecond)}/s`;
  const total = p.totalBytes;
  if (total === undefined || !Number.isFinite(total) || total <= 0) {
    return `${formatBytes(p.receivedBytes)}  ${speed}`;
  }
  const fraction = Math.min(1, Math.max(0, p.receivedBytes / total));
  const filled = Math.floor(fraction * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const remaining = Math.max(0, total - p.receivedBytes);
  const eta = remaining === 0 ? '0s' : p.bytesPerSecond > 0 ? formatDuration(remaining / p.bytesPerSecond) : '--';
  return `[${bar}] ${formatBytes(p.receivedBytes)} / ${formatBytes(total)}  ${speed}  ETA ${eta}`;
}

/** The bit of a terminal stream the printer needs; `process.stderr` fits. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface TerminalProgress {
  /** Pass as `onProgress` to `downloadFile`. */
  update(p: DownloadProgress): void;
  /** Print the last state and end the line. */
  finish(): void;
}

/**
 * Redraws one line in place on a TTY (at most every `intervalMs`); on a pipe or
 * log file it prints a plain line at most every `logIntervalMs` instead of
 * flooding it with carriage returns.
 */
export function createTerminalProgress(
  out: ProgressOutput,
  label: string,
  options: { intervalMs?: number; logIntervalMs?: number; width?: number; now?: () => number } = {},
): TerminalProgress {
  const now = options.now ?? Date.now;
  const tty = out.isTTY === true;
  const interval = tty ? (options.intervalMs ?? 100) : (options.logIntervalMs ?? 5000);
  let last: DownloadProgress | undefined;
  let lastPrinted: DownloadProgress | undefined;
  let lastPrintedAt = -Infinity;
  let lastLength = 0;

  const print = (p: DownloadProgress) => {
    const line = `${label} ${formatDownloadProgress(p, { width: options.width ?? 20 })}`;
    if (tty) {
      out.write(`\r${line}${' '.repeat(Math.max(0, lastLength - line.length))}`);
      lastLength = line.length;
    } else {
      out.write(`${line}\n`);
    }
  };

  return {
    update(p) {
      last = p;
      const t = now();
      if (t - lastPrintedAt < interval) return;
      lastPrintedAt = t;
      lastPrinted = p;
      print(p);
    },
    finish() {
      if (last && last !== lastPrinted) print(last);
      if (tty) out.write('\n');
    },
  };
}
