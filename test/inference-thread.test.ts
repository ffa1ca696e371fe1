import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { InferenceThread, ThreadedComponent } from '../src/diffusion/onnx/inference-thread.js';
import { type InferenceComponent, OnnxComponent } from '../src/diffusion/onnx/session.js';
import { GraphBuilder } from './support/onnx/graph-builder.js';
import { tinyTextEncoder, tinyUnet, tinyVaeDecoder } from './support/onnx/tiny-models.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'koma-thread-'));
const threads: InferenceThread[] = [];
afterAll(async () => {
  await Promise.all(threads.map((t) => t.close()));
});

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

function newThread(): InferenceThread {
  const thread = new InferenceThread();
  threads.push(thread);
  return thread;
}

function unetFeeds(timestep: 'float32' | 'int64'): Record<string, ort.Tensor> {
  return {
    sample: new ort.Tensor('float32', Float32Array.from({ length: 2 * 4 * 2 * 3 }, (_, i) => i / 10 - 1), [2, 4, 2, 3]),
    timestep: timestep === 'int64' ? new ort.Tensor('int64', BigInt64Array.from([999n]), [1]) : new ort.Tensor('float32', Float32Array.from([0.25]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 2 * 77 * 8 }, (_, i) => Math.sin(i)), [2, 77, 8]),
  };
}

const idsFeed = () => ({ input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: 77 }, (_, i) => BigInt(49406 - i * 300)), [1, 77]) });

/** y ← y·x, `steps` times, for x = [n, n] filled with 1/n: every product is x again, exactly. Slow on purpose. */
function slowChain(n = 1024, steps = 12): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [n, n]);
  let y = x;
  for (let i = 0; i < steps; i++) y = g.node('MatMul', [y, x], [], i === steps - 1 ? 'y' : undefined);
  g.output('y', 'float32', [n, n]);
  return g.toBytes();
}
const slowFeed = (n = 1024) => ({ x: new ort.Tensor('float32', new Float32Array(n * n).fill(1 / n), [n, n]) });

/** How many 5 ms interval ticks the event loop ran while `run` was pending. */
async function ticksDuring(component: InferenceComponent, feeds: Record<string, ort.Tensor>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await component.run(feeds);
    return ticks;
  } finally {
    clearInterval(timer);
  }
}

async function rejection(promise: Promise<unknown>): Promise<KomaError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KomaError);
  return error as KomaError;
}

describe('ThreadedComponent', () => {
  const models = [
    { name: 'UNet, float32 timestep', bytes: () => tinyUnet('float32'), feeds: () => unetFeeds('float32') },
    { name: 'UNet, int64 timestep', bytes: () => tinyUnet('int64'), feeds: () => unetFeeds('int64') },
    { name: 'text encoder, int64 input_ids', bytes: tinyTextEncoder, feeds: idsFeed },
  ];
  for (const model of models) {
    it(`gives exactly what OnnxComponent gives: ${model.name}`, async () => {
      const file = write(`${model.name.replace(/\W+/g, '-')}.onnx`, model.bytes());
      const local = await OnnxComponent.load(file);
      const threaded = await ThreadedComponent.load(file);
      expect(threaded.path).toBe(file);
      expect(threaded.inputNames).toEqual(local.inputNames);
      expect(threaded.outputNames).toEqual(local.outputNames);
      for (const name of local.inputNames) expect(threaded.inputInfo(name)).toEqual(local.inputInfo(name));
      expect(() => threaded.inputInfo('nope')).toThrowError(/has no tensor input "nope"/);

      const feeds = model.feeds();
      const before = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.data.slice()]));
      const want = await local.run(feeds);
      const got = await threaded.run(feeds);
      expect(Object.keys(got)).toEqual(Object.keys(want));
      for (const name of Object.keys(want)) {
        expect(got[name]!.type).toBe(want[name]!.type);
        expect(got[name]!.dims).toEqual(want[name]!.dims);
        expect(got[name]!.data).toEqual(want[name]!.data);
      }
      // The caller's input buffers are neither detached nor changed, and can be reused.
      for (const [name, tensor] of Object.entries(feeds)) expect(tensor.data).toEqual(before[name]);
      expect((await threaded.run(feeds))[local.outputNames[0]!]!.data).toEqual(want[local.outputNames[0]!]!.data);

      await local.release();
      await threaded.release();
      expect(() => threaded.inputNames).toThrowError(/released/);
    });
  }

  it('hosts several components on one thread; releasing one leaves the others usable', async () => {
    const thread = newThread();
    const [encoder, unet, vae] = await Promise.all([
      thread.load(write('enc.onnx', tinyTextEncoder())),
      thread.load(write('unet.onnx', tinyUnet('int64'))),
      thread.load(write('vae.onnx', tinyVaeDecoder())),
    ]);
    const hidden = (await encoder.run(idsFeed())).last_hidden_state!;
    expect(hidden.dims).toEqual([1, 77, 1]);
    expect((hidden.data as Float32Array)[1]).toBe(49106);

    await vae.release();
    await expect(vae.run({})).rejects.toThrowError(/released/);
    const out = await unet.run(unetFeeds('int64'));
    expect(out.out_sample!.dims).toEqual([2, 4, 2, 3]);
    await encoder.release();
    expect((await unet.run(unetFeeds('int64'))).out_sample!.data).toEqual(out.out_sample!.data);
  });

  it('keeps the event loop free during a long run, unlike OnnxComponent', async () => {
    const file = write('slow.onnx', slowChain());
    const local = await OnnxComponent.load(file, { intraOpNumThreads: 1 });
    const thread = newThread();
    const threaded = await thread.load(file, { intraOpNumThreads: 1 });
    const feeds = slowFeed();

    // In this thread the native run blocks: no interval tick can run until it returns.
    expect(await ticksDuring(local, feeds)).toBeLessThanOrEqual(1);
    // In the worker the same run leaves the loop ticking all along.
    expect(await ticksDuring(threaded, feeds)).toBeGreaterThanOrEqual(5);

    const y = (await threaded.run(feeds)).y!.data as Float32Array;
    expect(y.length).toBe(1024 * 1024);
    expect(y.every((v) => v === 1 / 1024)).toBe(true);
    await local.release();
  });

  it('rejects a bad feed with one readable line and stays usable', async () => {
    const unet = await newThread().load(write('unet-bad.onnx', tinyUnet('float32')));
    const feeds = unetFeeds('float32');
    const bad = { ...feeds, sample: new ort.Tensor('float32', new Float32Array(12), [1, 3, 2, 2]) };
    const error = await rejection(unet.run(bad));
    expect(error.code).toBe('render-failed');
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(/^cannot run .*unet-bad\.onnx: Got invalid dimensions for input: sample/);

    const wrongType = { ...feeds, timestep: new ort.Tensor('int64', BigInt64Array.from([1n]), [1]) };
    expect((await rejection(unet.run(wrongType))).message).toMatch(/Unexpected input data type/);

    expect((await unet.run(feeds)).out_sample!.dims).toEqual([2, 4, 2, 3]);
  });

  it('rejects pending and later calls when the thread dies, instead of hanging', async () => {
    const thread = newThread();
    const slow = await thread.load(write('slow-kill.onnx', slowChain()), { intraOpNumThreads: 1 });
    const small = await thread.load(write('vae-kill.onnx', tinyVaeDecoder()));
    const latent = () => ({ latent_sample: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
    const busy = slow.run(slowFeed());
    const queued = small.run(latent()); // waits in the worker behind the slow run
    await thread.exitForTest(1);

    const error = await rejection(queued);
    expect(error.code).toBe('render-failed');
    expect(error.message).toMatch(/^the inference thread stopped \(it exited with code 1\)/);
    expect(error.message).not.toContain('\n');
    await Promise.allSettled([busy]); // settled too, either way: nothing hangs

    for (const later of [small.run(latent()), slow.run(slowFeed()), thread.load(write('vae-kill2.onnx', tinyVaeDecoder()))]) {
      const e = await rejection(later);
      expect(e.code).toBe('render-failed');
      expect(e.message).toMatch(/^the inference thread stopped/);
    }
    await small.release(); // nothing left to free, but it does not throw
  });

  it('rejects runs pending when the thread is closed', async () => {
    const thread = newThread();
    const slow = await thread.load(write('slow-close.onnx', slowChain()), { intraOpNumThreads: 1 });
    const pending = rejection(slow.run(slowFeed()));
    await thread.close(); // waits for the native run in the worker to end, then for the thread
    expect((await pending).message).toBe('the inference thread stopped (it was closed)');
    expect((await rejection(slow.run(slowFeed()))).message).toBe('the inference thread stopped (it was closed)');
  });

  it('fails to load exactly as OnnxComponent does', async () => {
    const missing = path.join(dir, 'missing.onnx');
    const corrupt = write('corrupt.onnx', new TextEncoder().encode('not an onnx model'));
    for (const file of [missing, corrupt]) {
      const want = await rejection(OnnxComponent.load(file));
      const got = await rejection(ThreadedComponent.load(file));
      expect(got.code).toBe('model');
      expect(got.message).toBe(want.message);
      const shared = await rejection(newThread().load(file));
      expect(shared.message).toBe(want.message);
    }
    expect((await rejection(ThreadedComponent.load(missing))).message).toBe(`model file ${missing} is missing`);
  });

  it('passes the worker’s fallback warnings to the caller', async () => {
    const file = write('unet-warn.onnx', tinyUnet('float32'));
    const want: string[] = [];
    const got: string[] = [];
    await (await OnnxComponent.load(file, { executionProvider: 'cuda', warn: (l) => want.push(l) })).release();
    const unet = await ThreadedComponent.load(file, { executionProvider: 'cuda', warn: (l) => got.push(l) });
    expect(want).toHaveLength(1);
    expect(got).toEqual(want);
    expect((await unet.run(unetFeeds('float32'))).out_sample!.dims).toEqual([2, 4, 2, 3]);
    await unet.release();
  });
});
