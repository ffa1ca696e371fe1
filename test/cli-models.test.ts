import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelsCommand } from '../src/cli/models-command.js';
import { loadConfig } from '../src/config/config.js';
import { tinyTextEncoder, tinyUnet, tinyVaeDecoder } from './support/onnx/tiny-models.js';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

describe('koma models', () => {
  const files: Record<string, Uint8Array | string> = {
    'text_encoder/model.onnx': tinyTextEncoder(),
    'unet/model.onnx': tinyUnet('int64'),
    'vae_decoder/model.onnx': tinyVaeDecoder(),
    'tokenizer/vocab.json': '{"a</w>": 0}',
    'tokenizer/merges.txt': '#version: 0.2\n',
  };
  const served: string[] = [];
  let server: http.Server;
  let base = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').slice(1));
      served.push(rel);
      const body = files[rel];
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('pulls a model listed with URLs and hashes, then lists and verifies it', async () => {
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-pull-'));
    mkdirSync(path.join(modelsDir, 'tiny'));
    const manifest = {
      id: 'tiny',
      family: 'sd15',
      vaeScalingFactor: 0.18215,
      sizeMultiple: 8,
      defaultSize: { width: 64, height: 64 },
      defaultSteps: 4,
      defaultGuidance: 7,
      tokenizerPad: { first: 49407 },
      scheduler: { name: 'ddim' },
      capabilities: ['text-conditioning'],
      components: {},
      files: Object.fromEntries(
        Object.entries(files).map(([rel, body]) => [rel, { url: `${base}/${rel}`, sha256: createHash('sha256').update(body).digest('hex') }]),
      ),
    };
    writeFileSync(path.join(modelsDir, 'tiny', 'manifest.json'), JSON.stringify(manifest));
    const config = loadConfig({ KOMA_MODELS_DIR: modelsDir });

    const before = capture();
    await runModelsCommand(['list'], config, before.stream);
    expect(before.text()).toMatch(/tiny\s+sd15\s+incomplete/);

    const pulled = capture();
    expect(await runModelsCommand(['pull', 'tiny'], config, pulled.stream)).toBe(0);
    expect(served.sort()).toEqual(Object.keys(files).sort());
    expect(readFileSync(path.join(modelsDir, 'tiny', 'unet/model.onnx')).equals(Buffer.from(files['unet/model.onnx'] as Uint8Array))).toBe(true);

    const after = capture();
    await runModelsCommand(['list'], config, after.stream);
    expect(after.text()).toMatch(/tiny\s+sd15\s+installed/);
    const verified = capture();
    expect(await runModelsCommand(['verify', 'tiny'], config, verified.stream)).toBe(0);
    expect(verified.text()).toMatch(/ok {3}unet/);
  });

  it('explains an unknown model and a model without URLs', async () => {
    const config = loadConfig({ KOMA_MODELS_DIR: path.join(import.meta.dirname, '..', 'models') });
    await expect(runModelsCommand(['pull', 'nope'], config, capture().stream)).rejects.toThrowError(/no model "nope"/);
    await expect(runModelsCommand(['pull', 'sd15-example'], config, capture().stream)).rejects.toThrowError(/lists no download URLs/);
  });
});
