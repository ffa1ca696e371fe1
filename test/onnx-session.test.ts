import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { selectExecutionProviders } from '../src/diffusion/onnx/providers.js';
import { OnnxComponent, timestepTensor } from '../src/diffusion/onnx/session.js';
import { tinyUnet } from './support/onnx/tiny-models.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'koma-onnx-'));

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe('execution providers', () => {
  it('uses the CPU when asked', () => {
    expect(selectExecutionProviders('cpu', [])).toEqual({ providers: ['cpu'] });
  });

  it('tries CUDA before the CPU when the build lists it', () => {
    expect(selectExecutionProviders('cuda', [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false }])).toEqual({ providers: ['cuda', 'cpu'] });
    expect(selectExecutionProviders('tensorrt', [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false }, { name: 'tensorrt', bundled: false }]).providers).toEqual(['tensorrt', 'cuda', 'cpu']);
  });

  it('falls back to the CPU with one clear warning when the build lacks it', () => {
    const choice = selectExecutionProviders('cuda', [{ name: 'cpu', bundled: true }]);
    expect(choice.providers).toEqual(['cpu']);
    expect(choice.warning).toMatch(/cuda is not supported by this onnxruntime-node build; using the CPU.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});

describe('OnnxComponent on a tiny UNet', () => {
  for (const type of ['float32', 'int64'] as const) {
    it(`runs with a ${type} timestep and computes exactly 2·sample + t + mean(ehs)`, async () => {
      const unet = await OnnxComponent.load(write(`unet-${type}.onnx`, tinyUnet(type)));
      expect(unet.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states']);
      expect(unet.outputNames).toEqual(['out_sample']);
      const info = unet.inputInfo('timestep');
      expect(info.type).toBe(type);
      expect(unet.inputInfo('sample').shape).toEqual(['batch', 4, 'height', 'width']);
      const sample = Float32Array.from({ length: 2 * 4 * 2 * 3 }, (_, i) => i / 10);
      const ehs = Float32Array.from({ length: 2 * 77 * 8 }, (_, i) => (i < 77 * 8 ? 1 : 3));
      const out = await unet.run({
        sample: new ort.Tensor('float32', sample, [2, 4, 2, 3]),
        timestep: timestepTensor(7, info),
        encoder_hidden_states: new ort.Tensor('float32', ehs, [2, 77, 8]),
      });
      const data = out.out_sample!.data as Float32Array;
      expect(out.out_sample!.dims).toEqual([2, 4, 2, 3]);
      data.forEach((v, i) => expect(v).toBeCloseTo(2 * sample[i]! + 7 + (i < 24 ? 1 : 3), 5));
      await unet.release();
      expect(() => unet.inputNames).toThrowError(/released/);
    });
  }

  it('falls back to the CPU when CUDA cannot start, and warns once', async () => {
    const warnings: string[] = [];
    const unet = await OnnxComponent.load(write('unet-cuda.onnx', tinyUnet('float32')), { executionProvider: 'cuda', warn: (l) => warnings.push(l) });
    expect(unet.providers).toEqual(['cpu']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/using the CPU/);
    await unet.release();
  });

  it('gives a clear error for a missing or truncated model', async () => {
    await expect(OnnxComponent.load(path.join(dir, 'nope.onnx'))).rejects.toThrowError(/model file .*nope\.onnx is missing/);
    const truncated = write('truncated.onnx', tinyUnet('float32').slice(0, 40));
    await expect(OnnxComponent.load(truncated)).rejects.toThrowError(/cannot load .*truncated\.onnx: /);
  });
});
