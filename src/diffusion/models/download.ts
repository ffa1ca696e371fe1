/**
 * Resumable, verified download of one model file (weights are gigabytes).
 *
 * The bytes stream into `<dest>.part`; a later call (or a retry within this
 * call) continues it with `Range: bytes=<size>-`. The sha256 runs over the whole
 * file as it is written, so nothing is read twice except a `.part` left by an
 * earlier process. Only a complete, verified file is renamed onto `dest`, so
 * `dest` either does not exist or is whole.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { KomaError } from '../../domain/errors.js';
import type { DownloadProgress } from './progress-bar.js';

export type { DownloadProgress } from './progress-bar.js';

export interface DownloadOptions {
  url: string;
  /** Final path of the file; its folder is created if missing. */
  dest: string;
  /** Expected sha256 (64 hex digits). Without it the file is not verified. */
  sha256?: string;
  /** Expected size; a server disagreeing with it fails before downloading. */
  expectedBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Retries after network errors or 5xx; an attempt that got further than any before does not use one up. */
  retries?: number;
  fetchImpl?: typeof fetch;
  /** Extra request headers, e.g. `authorization` for gated repositories. */
  headers?: Record<string, string>;
  /** Wait before the first retry; doubles each time, capped at 30 s. */
  backoffMs?: number;
  /** A connection that sends nothing for this long is dropped and retried. */
  idleTimeoutMs?: number;
  /** Minimum time between two `onProgress` calls (0: every chunk). */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** True when bytes written before the last request were kept (a Range continuation). */
  resumed: boolean;
}

const MAX_BACKOFF_MS = 30_000;
/** Chunks from the socket are small; gather them so each disk write is about this size. */
const WRITE_BATCH_BYTES = 1 << 20;
/** How far back the speed estimate looks. */
const SPEED_WINDOW_MS = 5_000;
const SAMPLE_MS = 250;

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const job = prepare(options);
  try {
    throwIfAborted(job);
    const existing = await existingFile(job);
    if (existing) return existing;
    await mkdir(path.dirname(job.dest), { recursive: true });
    return await downloadWithRetries(job);
  } catch (error) {
    if (options.signal?.aborted) throw cancelled(job, error);
    if (error instanceof KomaError) throw error;
    throw fileError(error, job) ?? error;
  }
}

// ---------------------------------------------------------------- set-up

interface Job {
  url: URL;
  /** The URL without query or fragment, for messages (signed URLs carry tokens). */
  shown: string;
  dest: string;
  part: string;
  sha256?: string;
  expectedBytes?: number;
  signal?: AbortSignal;
  retries: number;
  fetchImpl: typeof fetch;
  headers: Record<string, string>;
  backoffMs: number;
  idleTimeoutMs: number;
  meter: ProgressMeter;
}

function prepare(options: DownloadOptions): Job {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new KomaError('invalid-input', `"${options.url}" is not a valid download URL`);
  }
  const shown = `${url.origin}${url.pathname}`;
  const sha256 = options.sha256?.trim().toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new KomaError('invalid-input', `the sha256 for ${shown} must be 64 hex digits, got "${options.sha256}"`);
  }
  // Plain http is only trusted when the bytes are checked against a hash anyway, or stay on this machine.
  const plainHttpOk = url.protocol === 'http:' && (sha256 !== undefined || isLoopback(url.hostname));
  if (url.protocol !== 'https:' && !plainHttpOk) {
    throw new KomaError(
      'invalid-input',
      `refusing to download ${shown}: use an https:// URL (http:// only for localhost or with a sha256)`,
    );
  }
  const { expectedBytes } = options;
  if (expectedBytes !== undefined && !(Number.isSafeInteger(expectedBytes) && expectedBytes >= 0)) {
    throw new KomaError('invalid-input', `the expected size of ${shown} must be a whole number of bytes, got ${expectedBytes}`);
  }
  const retries = options.retries ?? 3;
  if (!(Number.isSafeInteger(retries) && retries >= 0)) {
    throw new KomaError('invalid-input', `retries must be a whole number ≥ 0, got ${retries}`);
  }
  if (options.dest.trim() === '') throw new KomaError('invalid-input', `no destination path given for ${shown}`);
  const dest = path.resolve(options.dest);
  return {
    url,
    shown,
    dest,
    part: `${dest}.part`,
    sha256,
    expectedBytes,
    signal: options.signal,
    retries,
    fetchImpl: options.fetchImpl ?? fetch,
    headers: { ...options.headers },
    backoffMs: Math.max(0, options.backoffMs ?? 1_000),
    idleTimeoutMs: Math.max(1, options.idleTimeoutMs ?? 60_000),
    meter: new ProgressMeter(options.onProgress, Math.max(0, options.progressIntervalMs ?? 200)),
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A `dest` that is already there and right needs no request at all. */
async function existingFile(job: Job): Promise<DownloadResult | undefined> {
  const size = await fileSize(job.dest);
  if (size === undefined) return undefined;
  if (job.expectedBytes !== undefined && size !== job.expectedBytes) return undefined;
  const { hash } = await hashFile(job.dest, size, job.signal);
  const digest = hash.digest('hex');
  if (job.sha256 !== undefined && digest !== job.sha256) return undefined; // replaced once a good copy is verified
  return { path: job.dest, bytes: size, sha256: digest, resumed: false };
}

// ---------------------------------------------------------------- attempts

/** The `.part` on disk and the hash of exactly those bytes. */
interface PartState {
  hash: Hash;
  bytes: number;
}

/** A failure worth another attempt: network trouble, 5xx, a short or inconsistent response. */
class RetryableError extends Error {}

interface Attempt {
  state?: PartState;
  /** Bytes appended to the `.part` during the current attempt. */
  wroteBytes: number;
}

interface Complete {
  state: PartState;
  resumed: boolean;
}

async function downloadWithRetries(job: Job): Promise<DownloadResult> {
  const attempt: Attempt = { wroteBytes: 0 };
  let failures = 0;
  let attempts = 0;
  /** The largest `.part` seen after a failed attempt; only beating it counts as progress. */
  let furthest = 0;
  for (;;) {
    throwIfAborted(job);
    attempt.wroteBytes = 0;
    attempts += 1;
    let complete: Complete;
    try {
      complete = await downloadOnce(job, attempt);
    } catch (error) {
      if (job.signal?.aborted || error instanceof KomaError) throw error;
      const fatal = fileError(error, job);
      if (fatal) throw fatal;
      // Progress resets the budget, so a flaky link that keeps delivering gets there eventually;
      // a server that ignores Range and drops at the same point every time does not.
      const reached = attempt.state?.bytes ?? 0;
      failures = attempt.wroteBytes > 0 && reached > furthest ? 1 : failures + 1;
      furthest = Math.max(furthest, reached);
      if (failures > job.retries) {
        const kept = attempt.state?.bytes ?? 0;
        throw new KomaError(
          'model',
          `download of ${job.shown} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describeNetworkError(error)}` +
            (kept > 0 ? `; ${kept} bytes are kept, run the command again to resume` : '; check the URL and your connection'),
        );
      }
      await sleep(Math.min(MAX_BACKOFF_MS, job.backoffMs * 2 ** (failures - 1)), job.signal);
      continue;
    }
    return finish(job, complete);
  }
}

async function downloadOnce(job: Job, attempt: Attempt): Promise<Complete> {
  let offset = (await fileSize(job.part)) ?? 0;
  if (job.expectedBytes !== undefined && offset > job.expectedBytes) {
    await rm(job.part, { force: true });
    offset = 0;
  }
  // Hash what an earlier process left, so the final digest covers the whole file.
  if (attempt.state?.bytes !== offset) attempt.state = await hashFile(job.part, offset, job.signal);
  const state = attempt.state;
  if (offset > 0 && offset === job.expectedBytes) return { state, resumed: true };

  const watchdog = new IdleWatchdog(job.idleTimeoutMs);
  const signal = job.signal ? AbortSignal.any([job.signal, watchdog.signal]) : watchdog.signal;
  try {
    const headers: Record<string, string> = { ...job.headers, 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let response: Response;
    try {
      response = await job.fetchImpl(job.url, { headers, signal, redirect: 'follow' });
    } catch (error) {
      throw watchdog.fired ? new RetryableError(`no answer for ${job.idleTimeoutMs} ms`) : error;
    }
    watchdog.kick();

    const status = response.status;
    if (status === 416 && offset > 0) {
      await discardBody(response);
      const total = unsatisfiedRangeTotal(response.headers.get('content-range')) ?? job.expectedBytes ?? offset;
      if (total === offset) return { state, resumed: true };
      await restartPart(job, attempt);
      throw new RetryableError(`the partial file (${offset} bytes) does not fit the remote file (${total} bytes); starting over`);
    }
    if (status >= 500 || status === 408 || status === 429) {
      await discardBody(response);
      throw new RetryableError(`HTTP ${status} ${statusText(response)}`);
    }
    if (status < 200 || status > 299) {
      await discardBody(response);
      throw new KomaError('model', `download of ${job.shown} failed: HTTP ${status} ${statusText(response)}`);
    }

    let append = false;
    let total: number | undefined;
    if (status === 206) {
      const range = contentRange(response.headers.get('content-range'));
      if (!range || range.start !== offset) {
        await discardBody(response);
        await restartPart(job, attempt);
        throw new RetryableError(`the server answered a range request for byte ${offset} with ${range ? `byte ${range.start}` : 'no usable Content-Range'}; starting over`);
      }
      append = true;
      total = range.total;
    } else {
      // A plain 200 is the whole file from byte 0, whatever we asked for.
      total = contentLength(response.headers.get('content-length'));
      if (offset > 0) attempt.state = { hash: createHash('sha256'), bytes: 0 };
    }
    if (total !== undefined && job.expectedBytes !== undefined && total !== job.expectedBytes) {
      await discardBody(response);
      throw new KomaError(
        'corrupt-data',
        `the server says ${job.shown} is ${total} bytes but ${job.expectedBytes} were expected; the model manifest may be out of date`,
      );
    }
    total ??= job.expectedBytes;

    const written = attempt.state as PartState;
    job.meter.begin(written.bytes, total);
    await streamToPart(job, response, append, attempt, watchdog);
    if (total !== undefined && written.bytes < total) {
      throw new RetryableError(`the connection closed after ${written.bytes} of ${total} bytes`);
    }
    return { state: written, resumed: append && offset > 0 };
  } catch (error) {
    if (watchdog.fired && !job.signal?.aborted && !(error instanceof KomaError) && !(error instanceof RetryableError)) {
      throw new RetryableError(`no data for ${job.idleTimeoutMs} ms`);
    }
    throw error;
  } finally {
    watchdog.stop();
  }
}

async function restartPart(job: Job, attempt: Attempt): Promise<void> {
  await rm(job.part, { force: true });
  attempt.state = { hash: createHash('sha256'), bytes: 0 };
}

/** Body → `.part`, hashing exactly what reached the file; keeps what arrived if interrupted. */
async function streamToPart(job: Job, response: Response, append: boolean, attempt: Attempt, watchdog: IdleWatchdog): Promise<void> {
  const state = attempt.state as PartState;
  const file = await open(job.part, append ? 'a' : 'w');
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const batch = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await writeAll(file, batch);
    state.hash.update(batch);
    state.bytes += batch.length;
    attempt.wroteBytes += batch.length;
  };
  let finished = false;
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        watchdog.kick();
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
        job.meter.update(state.bytes + pendingBytes);
      }
    }
    await flush();
    await file.datasync(); // the rename that follows must not publish a file still in flight
    finished = true;
  } finally {
    if (!finished) await flush().catch(() => undefined); // keep what arrived for the next resume
    await file.close();
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

async function finish(job: Job, complete: Complete): Promise<DownloadResult> {
  const { state } = complete;
  const digest = state.hash.digest('hex');
  if (job.expectedBytes !== undefined && state.bytes !== job.expectedBytes) {
    await rm(job.part, { force: true });
    throw new KomaError(
      'corrupt-data',
      `download of ${job.shown} is ${state.bytes} bytes but ${job.expectedBytes} were expected; the partial file was deleted, run the command again`,
    );
  }
  if (job.sha256 !== undefined && digest !== job.sha256) {
    await rm(job.part, { force: true });
    throw new KomaError(
      'corrupt-data',
      `download of ${job.shown} is corrupt: expected sha256 ${job.sha256}, got ${digest}; the partial file was deleted, run the command again`,
    );
  }
  await rename(job.part, job.dest);
  job.meter.end(state.bytes);
  return { path: job.dest, bytes: state.bytes, sha256: digest, resumed: complete.resumed };
}

// ---------------------------------------------------------------- HTTP details

/** `bytes 100-199/1000` (total may be `*`). */
function contentRange(header: string | null): { start: number; end: number; total?: number } | undefined {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) return undefined;
  return { start, end, total: match[3] === '*' ? undefined : Number(match[3]) };
}

/** The total in a 416's `bytes *\/1000`. */
function unsatisfiedRangeTotal(header: string | null): number | undefined {
  const match = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(header ?? '');
  return match ? Number(match[1]) : undefined;
}

function contentLength(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Number(header);
}

function statusText(response: Response): string {
  return response.statusText || STATUS_CODES[response.status] || 'error';
}

/** Frees the connection of a response we will not read. */
async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // already closed
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message} (${typeof code === 'string' ? code : cause.message})`;
  }
  return error.message;
}

// ---------------------------------------------------------------- files

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new KomaError('invalid-input', `${file} exists but is not a file; move it out of the way`);
    return info.size;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** sha256 of the first `bytes` bytes of `file` (a fresh hash when `bytes` is 0). */
async function hashFile(file: string, bytes: number, signal?: AbortSignal): Promise<PartState> {
  const hash = createHash('sha256');
  if (bytes === 0) return { hash, bytes: 0 };
  let seen = 0;
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: WRITE_BATCH_BYTES, signal })) {
    hash.update(chunk as Buffer);
    seen += (chunk as Buffer).length;
  }
  if (seen !== bytes) throw new Error(`${file} changed while it was being hashed`);
  return { hash, bytes };
}

/** Disk problems no retry will fix, as one readable line. */
function fileError(error: unknown, job: Job): KomaError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const syscall = (error as { syscall?: unknown } | null)?.syscall;
  if (typeof code !== 'string' || typeof syscall !== 'string') return undefined;
  const where = path.dirname(job.dest);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new KomaError('model', `no space left in ${where} for ${path.basename(job.dest)}; free some space and run the command again`, { cause: error });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new KomaError('permission', `cannot write ${job.part}: ${code}; choose a writable models folder`, { cause: error });
    case 'ENOTDIR':
    case 'EISDIR':
      return new KomaError('invalid-input', `cannot write ${job.part}: ${code}; check the models folder path`, { cause: error });
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- cancel, timers, progress

function throwIfAborted(job: Job): void {
  if (job.signal?.aborted) throw cancelled(job);
}

function cancelled(job: Job, cause?: unknown): KomaError {
  return new KomaError('cancelled', `download of ${job.shown} was cancelled; run the command again to resume from ${job.part}`, { cause });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Aborts its signal when `kick` has not been called for `ms`. */
class IdleWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  fired = false;

  constructor(private readonly ms: number) {
    this.timer = this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  kick(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error(`idle for ${this.ms} ms`));
    }, this.ms);
  }
}

/** Throttled progress with a speed over the last few seconds. */
class ProgressMeter {
  /** Sparse (time, bytes) points, one per SAMPLE_MS, spanning at most SPEED_WINDOW_MS. */
  private samples: { at: number; bytes: number }[] = [];
  private latest: { at: number; bytes: number } | undefined;
  private lastEmit = -Infinity;
  private total: number | undefined;

  constructor(
    private readonly listener: ((progress: DownloadProgress) => void) | undefined,
    private readonly intervalMs: number,
  ) {}

  begin(bytes: number, total: number | undefined): void {
    this.total = total;
    if (this.latest && bytes < this.latest.bytes) this.samples = []; // restarted from zero
    this.record(bytes);
    this.emit(bytes);
  }

  update(bytes: number): void {
    this.record(bytes);
    if (this.latest && this.latest.at - this.lastEmit >= this.intervalMs) this.emit(bytes);
  }

  end(bytes: number): void {
    this.record(bytes);
    this.emit(bytes);
  }

  private record(bytes: number): void {
    const at = performance.now();
    this.latest = { at, bytes };
    const newest = this.samples.at(-1);
    if (!newest || at - newest.at >= SAMPLE_MS) this.samples.push(this.latest);
    while (this.samples.length > 1 && at - (this.samples[0] as { at: number }).at > SPEED_WINDOW_MS) this.samples.shift();
  }

  private emit(bytes: number): void {
    if (!this.listener || !this.latest) return;
    this.lastEmit = this.latest.at;
    const first = this.samples[0];
    const seconds = first ? (this.latest.at - first.at) / 1000 : 0;
    const bytesPerSecond = first && seconds > 0 ? Math.max(0, (this.latest.bytes - first.bytes) / seconds) : 0;
    const progress: DownloadProgress = { receivedBytes: bytes, bytesPerSecond };
    if (this.total !== undefined) progress.totalBytes = this.total;
    this.listener(progress);
  }
}
