import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { downloadFile, type DownloadOptions } from '../src/diffusion/models/download.js';
import type { DownloadProgress } from '../src/diffusion/models/progress-bar.js';

// ---------------------------------------------------------------- fixtures

/** mulberry32: a tiny seeded PRNG, so the payload is the same on every run. */
function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const DATA = seededBytes(300 * 1024, 20240607);
const DATA_SHA = sha256(DATA);

const root = path.resolve('test/.tmp/download', `file-${process.pid}-${randomBytes(3).toString('hex')}`);
let caseNo = 0;
/** A fresh folder per test; returns the destination path inside it. */
function freshDest(): string {
  const dir = path.join(root, `case-${++caseNo}`);
  mkdirSync(dir, { recursive: true });
  return path.join(dir, 'model.onnx');
}

async function komaError(work: Promise<unknown>): Promise<KomaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KomaError);
  return error as KomaError;
}

// ---------------------------------------------------------------- loopback server

interface Seen {
  path: string;
  range?: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse, requestNo: number) => void;

let server: Server;
let base = '';
let handler: Handler;
const seen: Seen[] = [];

/** A well-behaved file server: honours `Range: bytes=N-` unless told not to. */
function serve(body: Buffer, { honourRange = true } = {}): Handler {
  return (req, res) => {
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (honourRange && match) {
      const start = Number(match[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': body.length - start,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': honourRange ? 'bytes' : 'none' });
    res.end(body);
  };
}

/** Announces the whole file, sends the first `sent` bytes, then either kills the socket or goes silent. */
function sendPart(body: Buffer, sent: number, then: 'destroy' | 'stall'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, sent), () => {
      if (then === 'destroy') res.socket?.destroy();
    });
  };
}

/** Runs `first` for the first request, `rest` afterwards. */
function firstThen(first: Handler, rest: Handler): Handler {
  return (req, res, n) => (n === 0 ? first : rest)(req, res, n);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const n = seen.length;
    seen.push({ path: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) });
    handler(req, res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen.length = 0;
  server.closeAllConnections(); // stalled responses from the previous test
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

/** Fast retries for tests; everything else as in production. */
function options(dest: string, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return { url: `${base}/files/model.onnx`, dest, backoffMs: 5, ...extra };
}

// ---------------------------------------------------------------- tests

describe('downloadFile', () => {
  it('downloads a whole file, checks its sha256 and reports progress up to the total', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    const progress: DownloadProgress[] = [];
    const result = await downloadFile(options(dest, { sha256: DATA_SHA.toUpperCase(), onProgress: (p) => progress.push(p) }));

    expect(result).toEqual({ path: dest, bytes: DATA.length, sha256: DATA_SHA, resumed: false });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen).toEqual([{ path: '/files/model.onnx' }]);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: DATA.length, totalBytes: DATA.length });
    const received = progress.map((p) => p.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
  });

  it('streams a file larger than its write batch (several MB) intact', async () => {
    const big = seededBytes(3 * 1024 * 1024 + 17, 7);
    handler = serve(big);
    const dest = freshDest();
    const result = await downloadFile(options(dest, { sha256: sha256(big), expectedBytes: big.length }));
    expect(result.bytes).toBe(big.length);
    expect(readFileSync(dest).equals(big)).toBe(true);
  });

  it('follows redirects, keeping the Range header for the new location', async () => {
    const file = serve(DATA);
    handler = (req, res, n) => {
      if (req.url === '/old') res.writeHead(302, { location: '/files/model.onnx' }).end();
      else file(req, res, n);
    };
    const dest = freshDest();
    writeFileSync(`${dest}.part`, DATA.subarray(0, 1000));
    const result = await downloadFile(options(dest, { url: `${base}/old`, sha256: DATA_SHA }));
    expect(result).toMatchObject({ sha256: DATA_SHA, resumed: true });
    expect(seen).toEqual([
      { path: '/old', range: 'bytes=1000-' },
      { path: '/files/model.onnx', range: 'bytes=1000-' },
    ]);
  });

  it('resumes with Range after the server drops the connection halfway', async () => {
    const half = Math.floor(DATA.length / 2);
    handler = firstThen(sendPart(DATA, half, 'destroy'), serve(DATA));
    const dest = freshDest();
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));

    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(result).toMatchObject({ bytes: DATA.length, sha256: DATA_SHA, resumed: true });
    expect(seen).toHaveLength(2);
    expect(seen[0]?.range).toBeUndefined();
    const start = Number(/^bytes=(\d+)-$/.exec(seen[1]?.range ?? '')?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(half);
  });

  it('restarts from zero when the server ignores Range and answers 200', async () => {
    handler = serve(DATA, { honourRange: false });
    const dest = freshDest();
    // A stale .part whose bytes are wrong: appending to it would break the hash.
    writeFileSync(`${dest}.part`, Buffer.alloc(5000, 0xaa));
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));

    expect(seen).toEqual([{ path: '/files/model.onnx', range: 'bytes=5000-' }]);
    expect(result).toMatchObject({ bytes: DATA.length, resumed: false });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('starts over when a 206 begins at the wrong byte', async () => {
    handler = firstThen((_req, res) => {
      res.writeHead(206, { 'content-range': `bytes 0-${DATA.length - 1}/${DATA.length}`, 'content-length': DATA.length });
      res.end(DATA);
    }, serve(DATA));
    const dest = freshDest();
    writeFileSync(`${dest}.part`, DATA.subarray(0, 1000));
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));

    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(result.resumed).toBe(false);
    expect(seen.map((s) => s.range)).toEqual(['bytes=1000-', undefined]);
  });

  it('treats 416 on a complete .part as done, after verifying it', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    writeFileSync(`${dest}.part`, DATA);
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));

    expect(seen).toEqual([{ path: '/files/model.onnx', range: `bytes=${DATA.length}-` }]);
    expect(result).toMatchObject({ bytes: DATA.length, sha256: DATA_SHA, resumed: true });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('fails at once on 404 with a readable error and no retries', async () => {
    handler = (_req, res) => res.writeHead(404).end('nope');
    const dest = freshDest();
    const error = await komaError(downloadFile(options(dest, { retries: 3 })));

    expect(error.code).toBe('model');
    expect(error.message).toBe(`download of ${base}/files/model.onnx failed: HTTP 404 Not Found`);
    expect(seen).toHaveLength(1);
    expect(existsSync(dest)).toBe(false);
  });

  it('retries a 503 and then succeeds', async () => {
    handler = firstThen((_req, res) => res.writeHead(503).end(), serve(DATA));
    const dest = freshDest();
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));
    expect(result.sha256).toBe(DATA_SHA);
    expect(seen).toHaveLength(2);
  });

  it('gives up after `retries` more attempts on a server that keeps failing', async () => {
    handler = (_req, res) => res.writeHead(500).end();
    const dest = freshDest();
    const error = await komaError(downloadFile(options(dest, { retries: 2 })));

    expect(error.code).toBe('model');
    expect(error.message).toContain('after 3 attempts');
    expect(error.message).toContain('HTTP 500 Internal Server Error');
    expect(seen).toHaveLength(3);
  });

  it('gives up on a server that ignores Range and drops at the same point every time', async () => {
    handler = sendPart(DATA, DATA.length / 2, 'destroy');
    const dest = freshDest();
    const error = await komaError(downloadFile(options(dest, { retries: 2 })));
    expect(error.code).toBe('model');
    expect(error.message).toContain('after 3 attempts');
    expect(seen).toHaveLength(3);
  });

  it('deletes the .part and writes no file when the sha256 does not match', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    const wrong = sha256(Buffer.from('something else'));
    const error = await komaError(downloadFile(options(dest, { sha256: wrong })));

    expect(error.code).toBe('corrupt-data');
    expect(error.message).toContain(`expected sha256 ${wrong}, got ${DATA_SHA}`);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('refuses a server whose size disagrees with expectedBytes before writing anything', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    const error = await komaError(downloadFile(options(dest, { expectedBytes: DATA.length + 1 })));
    expect(error.code).toBe('corrupt-data');
    expect(error.message).toContain(`${DATA.length} bytes but ${DATA.length + 1} were expected`);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('keeps the .part when cancelled mid-way, and a later call resumes from it', async () => {
    const sent = 100_000;
    handler = sendPart(DATA, sent, 'stall');
    const dest = freshDest();
    const controller = new AbortController();
    const error = await komaError(
      downloadFile(
        options(dest, {
          sha256: DATA_SHA,
          signal: controller.signal,
          progressIntervalMs: 0,
          onProgress: (p) => {
            if (p.receivedBytes >= sent) controller.abort();
          },
        }),
      ),
    );
    expect(error.code).toBe('cancelled');
    expect(existsSync(dest)).toBe(false);
    const kept = statSync(`${dest}.part`).size;
    expect(kept).toBe(sent);
    expect(readFileSync(`${dest}.part`).equals(DATA.subarray(0, sent))).toBe(true);

    handler = serve(DATA);
    seen.length = 0;
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));
    expect(seen).toEqual([{ path: '/files/model.onnx', range: `bytes=${sent}-` }]);
    expect(result).toMatchObject({ bytes: DATA.length, sha256: DATA_SHA, resumed: true });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('drops a connection that goes silent and resumes on a new one', async () => {
    const sent = 64 * 1024;
    handler = firstThen(sendPart(DATA, sent, 'stall'), serve(DATA));
    const dest = freshDest();
    const result = await downloadFile(options(dest, { sha256: DATA_SHA, idleTimeoutMs: 300 }));

    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(result.resumed).toBe(true);
    expect(seen[1]?.range).toMatch(/^bytes=\d+-$/);
  });

  it('returns at once, without a request, when dest already holds the right file', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    writeFileSync(dest, DATA);
    const result = await downloadFile(options(dest, { sha256: DATA_SHA, expectedBytes: DATA.length }));

    expect(result).toEqual({ path: dest, bytes: DATA.length, sha256: DATA_SHA, resumed: false });
    expect(seen).toHaveLength(0);
  });

  it('replaces a dest whose content does not match the sha256', async () => {
    handler = serve(DATA);
    const dest = freshDest();
    writeFileSync(dest, Buffer.from('an older, different file'));
    const result = await downloadFile(options(dest, { sha256: DATA_SHA }));
    expect(seen).toHaveLength(1);
    expect(result.sha256).toBe(DATA_SHA);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('rejects bad input before any request', async () => {
    let calls = 0;
    const fetchImpl = (() => {
      calls += 1;
      throw new Error('must not be called');
    }) as unknown as typeof fetch;
    const dest = freshDest();
    const cases: Partial<DownloadOptions>[] = [
      { url: 'not a url' },
      { url: 'ftp://127.0.0.1/model.onnx' },
      { url: 'http://models.example/model.onnx' }, // plain http off this machine without a hash
      { sha256: 'abc123' },
      { expectedBytes: -1 },
      { retries: 1.5 },
    ];
    for (const extra of cases) {
      const error = await komaError(downloadFile(options(dest, { fetchImpl, ...extra })));
      expect(error.code).toBe('invalid-input');
    }
    expect(calls).toBe(0);
  });

  it('reports an already-aborted signal as cancelled without a request', async () => {
    handler = serve(DATA);
    const controller = new AbortController();
    controller.abort();
    const error = await komaError(downloadFile(options(freshDest(), { signal: controller.signal })));
    expect(error.code).toBe('cancelled');
    expect(seen).toHaveLength(0);
  });
});
