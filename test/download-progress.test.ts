import { describe, expect, it } from 'vitest';
import {
  createTerminalProgress,
  formatBytes,
  formatDownloadProgress,
  formatDuration,
} from '../src/diffusion/models/progress-bar.js';

describe('formatBytes', () => {
  it('uses decimal units with one decimal above bytes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 kB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(3_400_000_000)).toBe('3.4 GB');
    expect(formatBytes(2e12)).toBe('2.0 TB');
  });

  it('moves to the next unit instead of printing 1000.0', () => {
    expect(formatBytes(999_950)).toBe('1.0 MB');
    expect(formatBytes(999_940)).toBe('999.9 kB');
  });

  it('does not throw on nonsense', () => {
    expect(formatBytes(Number.NaN)).toBe('? B');
    expect(formatBytes(-5)).toBe('? B');
  });
});

describe('formatDuration', () => {
  it('prints seconds, then minutes and seconds, then hours and minutes', () => {
    expect(formatDuration(48)).toBe('48s');
    expect(formatDuration(47.2)).toBe('48s'); // rounds up: never promise too early
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(2 * 3600 + 7 * 60 + 30)).toBe('2h 07m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--');
  });
});

describe('formatDownloadProgress', () => {
  it('draws the bar, sizes, speed and ETA', () => {
    // Half of 3 GB at 50 MB/s: 5 of 10 cells, 1.5 GB left = 30 s.
    expect(formatDownloadProgress({ receivedBytes: 1.5e9, totalBytes: 3e9, bytesPerSecond: 50e6 })).toBe(
      '[#####.....] 1.5 GB / 3.0 GB  50.0 MB/s  ETA 30s',
    );
  });

  it('rounds the bar down so it is full only when the download is', () => {
    // 1.2 of 3.4 GB is 35.3 %: 3 cells; 2.2 GB at 45.1 MB/s is 48.8 s, shown as 49s.
    expect(formatDownloadProgress({ receivedBytes: 1.2e9, totalBytes: 3.4e9, bytesPerSecond: 45.1e6 })).toBe(
      '[###.......] 1.2 GB / 3.4 GB  45.1 MB/s  ETA 49s',
    );
    expect(formatDownloadProgress({ receivedBytes: 999, totalBytes: 1000, bytesPerSecond: 1 })).toMatch(/^\[#########\.\]/);
  });

  it('honours the width option', () => {
    expect(formatDownloadProgress({ receivedBytes: 25, totalBytes: 100, bytesPerSecond: 5 }, { width: 20 })).toBe(
      '[#####...............] 25 B / 100 B  5 B/s  ETA 15s',
    );
  });

  it('shows a full bar and ETA 0s when done, and clamps overshoot', () => {
    expect(formatDownloadProgress({ receivedBytes: 2000, totalBytes: 2000, bytesPerSecond: 0 })).toBe(
      '[##########] 2.0 kB / 2.0 kB  0 B/s  ETA 0s',
    );
    expect(formatDownloadProgress({ receivedBytes: 3000, totalBytes: 2000, bytesPerSecond: 10 })).toMatch(/^\[##########\]/);
  });

  it('shows -- for the ETA before any speed is known', () => {
    expect(formatDownloadProgress({ receivedBytes: 0, totalBytes: 5e9, bytesPerSecond: 0 })).toBe(
      '[..........] 0 B / 5.0 GB  0 B/s  ETA --',
    );
  });

  it('drops the bar and ETA when the total is unknown', () => {
    expect(formatDownloadProgress({ receivedBytes: 12_345_678, bytesPerSecond: 1e6 })).toBe('12.3 MB  1.0 MB/s');
  });
});

describe('createTerminalProgress', () => {
  function fakeOutput(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, out: { isTTY, write: (text: string) => writes.push(text) } };
  }

  it('redraws one line on a TTY, at most once per interval, and ends it on finish', () => {
    let clock = 0;
    const { writes, out } = fakeOutput(true);
    const bar = createTerminalProgress(out, 'unet.onnx', { intervalMs: 100, width: 4, now: () => clock });

    bar.update({ receivedBytes: 0, totalBytes: 100, bytesPerSecond: 0 });
    clock = 50;
    bar.update({ receivedBytes: 50, totalBytes: 100, bytesPerSecond: 10 }); // too soon: skipped
    clock = 120;
    bar.update({ receivedBytes: 60, totalBytes: 100, bytesPerSecond: 10 });
    bar.finish();

    expect(writes).toEqual([
      '\runet.onnx [....] 0 B / 100 B  0 B/s  ETA --',
      '\runet.onnx [##..] 60 B / 100 B  10 B/s  ETA 4s',
      '\n',
    ]);
  });

  it('pads a shorter redraw so no stale characters remain', () => {
    let clock = 0;
    const { writes, out } = fakeOutput(true);
    const bar = createTerminalProgress(out, 'x', { intervalMs: 0, width: 2, now: () => clock });
    bar.update({ receivedBytes: 1_234_567, bytesPerSecond: 1_000_000 }); // '1.2 MB  1.0 MB/s'
    clock = 1;
    bar.update({ receivedBytes: 5, bytesPerSecond: 5 }); // '5 B  5 B/s' is 6 characters shorter
    expect(writes[1]).toBe(`\rx 5 B  5 B/s${' '.repeat(6)}`);
  });

  it('prints whole lines, sparsely, when the output is not a terminal', () => {
    let clock = 0;
    const { writes, out } = fakeOutput(false);
    const bar = createTerminalProgress(out, 'vae.onnx', { logIntervalMs: 1000, width: 2, now: () => clock });
    for (let i = 0; i <= 10; i++) {
      clock = i * 300;
      bar.update({ receivedBytes: i * 10, totalBytes: 100, bytesPerSecond: 10 });
    }
    bar.finish();
    // Printed at t = 0, 1200, 2400 (each ≥ 1000 ms after the previous), then the final state.
    expect(writes).toEqual([
      'vae.onnx [..] 0 B / 100 B  10 B/s  ETA 10s\n',
      'vae.onnx [..] 40 B / 100 B  10 B/s  ETA 6s\n',
      'vae.onnx [#.] 80 B / 100 B  10 B/s  ETA 2s\n',
      'vae.onnx [##] 100 B / 100 B  10 B/s  ETA 0s\n',
    ]);
  });
});
