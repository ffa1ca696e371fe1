import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { ThreadedComponent } from '../src/diffusion/onnx/inference-thread.js';
import { inThreadLoader } from '../src/diffusion/pipeline/diffusion-model.js';
import { DiffusionRenderer } from '../src/render/diffusion/diffusion-renderer.js';
import type { PanelRenderer, PanelRenderRequest } from '../src/render/panel-renderer.js';
import { selectRenderer } from '../src/render/select-renderer.js';
import { gaussianUnet } from './support/onnx/pipeline-models.js';
import { ALPHAS, writeTinyModel } from './support/tiny-model-folder.js';

/**
 * The diffusion renderer behind the PanelRenderer contract, chosen by config
 * the way the CLI and the bot choose it, on installed tiny models.
 */
const root = path.resolve(import.meta.dirname, '..');
const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-renderer-models-'));
const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'koma-no-models-'));
writeTinyModel(modelsDir, { id: 'tiny-sd15', family: 'sd15', vaeEncoder: true, variance: 0.25, vaeScalingFactor: 1 });
writeTinyModel(modelsDir, { id: 'tiny-noenc', family: 'sd15' });

const config = (render: Record<string, unknown>) =>
  loadConfig({}, { overrides: { render: { renderer: 'auto', modelsDir, executionProvider: 'cpu', ...render } } });

const request = (overrides: Partial<PanelRenderRequest> = {}): PanelRenderRequest => ({
  prompt: 'a',
  negativePrompt: 'c',
  width: 300,
  height: 200,
  seed: 4,
  stylePreset: '',
  characters: [],
  dialogBoxes: [],
  ...overrides,
});

const close = (r: PanelRenderer) => r.close?.();

describe('renderer selection', () => {
  it('auto picks the installed model named in config, in a worker thread', async () => {
    const renderer = await selectRenderer(config({ model: 'tiny-sd15', steps: 3 }));
    try {
      expect(renderer.name).toBe('diffusion:tiny-sd15');
      expect((renderer as DiffusionRenderer).model.unet).toBeInstanceOf(ThreadedComponent);
      const panel = await renderer.render(request());
      expect(await sharp(panel.png).metadata()).toMatchObject({ width: 300, height: 200, format: 'png' });
      expect(panel).toMatchObject({ width: 300, height: 200, seed: 4, renderer: 'diffusion:tiny-sd15' });
    } finally {
      await close(renderer);
    }
  });

  it('a dead inference thread fails that render with one line; the next render loads the model again', async () => {
    const renderer = (await selectRenderer(config({ model: 'tiny-sd15', steps: 4 }))) as DiffusionRenderer;
    try {
      const thread = (renderer.model.unet as ThreadedComponent).thread;
      // The worker ends between two UNet calls, as a crashed or killed worker would.
      const run = renderer.render(request(), { onProgress: (p) => p.step === 1 && void thread.exitForTest() });
      await expect(run).rejects.toMatchObject({ code: 'render-failed', message: expect.stringMatching(/^tiny-sd15: the inference thread stopped \(it exited with code 1\); the next render loads the model again$/) });
      expect(thread.isStopped).toBe(true);
      const again = await renderer.render(request());
      expect(again).toMatchObject({ width: 300, height: 200, renderer: 'diffusion:tiny-sd15' });
      expect((renderer.model.unet as ThreadedComponent).thread).not.toBe(thread);
    } finally {
      await close(renderer);
    }
  });

  it('auto falls back to the storyboard without models; diffusion and unknown models say what to do', async () => {
    const storyboard = await selectRenderer(config({ modelsDir: emptyDir }));
    expect(storyboard.name).toBe('storyboard');
    await expect(selectRenderer(config({ modelsDir: emptyDir, renderer: 'diffusion' }))).rejects.toMatchObject({ code: 'model', message: expect.stringMatching(/needs an installed model/) });
    await expect(selectRenderer(config({ model: 'nope' }))).rejects.toMatchObject({ code: 'model', message: expect.stringMatching(/"nope".*not installed/) });
    // Example manifests describe layouts only; they never count as installed.
    const examples = await selectRenderer(config({ modelsDir: path.join(root, 'models') }));
    expect(examples.name).toBe('storyboard');
  });
});

describe('DiffusionRenderer', () => {
  let renderer: DiffusionRenderer;
  beforeAll(async () => {
    renderer = (await selectRenderer(config({ model: 'tiny-sd15' }), { loader: inThreadLoader, renderer: { steps: 4 } })) as DiffusionRenderer;
  });
  afterAll(() => renderer.close());

  it('generates at the model’s native area in its size multiple, keeping the panel’s aspect', () => {
    expect(renderer.generationSize(300, 200)).toEqual({ width: 624, height: 416 });
    expect(renderer.generationSize(1600, 400)).toEqual({ width: 1024, height: 256 });
    expect(renderer.generationSize(100, 4000)).toEqual({ width: 80, height: 2048 });
  });

  it('renders a batch in input order at each request’s exact size', async () => {
    const panels = await renderer.renderBatch([request({ seed: 1 }), request({ width: 200, height: 200, seed: 2 }), request({ seed: 3 })]);
    expect(panels.map((p) => [p.width, p.height, p.seed])).toEqual([
      [300, 200, 1],
      [200, 200, 2],
      [300, 200, 3],
    ]);
    for (const p of panels) expect(await sharp(p.png).metadata()).toMatchObject({ width: p.width, height: p.height });
  });

  it('storyboard init carries the character’s silhouette into its box', async () => {
    const reference = readFileSync(path.join(root, 'examples/characters/aki.png'));
    const withInit = new DiffusionRenderer(renderer.model, { steps: 10, storyboardInit: 0.5 });
    const box = [0.35, 0.1, 0.65, 1] as const;
    const panel = await withInit.render(request({ width: 256, height: 256, characters: [{ id: 'aki', name: 'Aki', description: '', box, referenceImages: [reference] }] }));
    const { data } = await sharp(panel.png).greyscale().raw().toBuffer({ resolveWithObject: true });
    const mean = (x1: number, x2: number) => {
      let sum = 0;
      let n = 0;
      for (let y = 150; y < 250; y++) for (let x = x1; x < x2; x++, n++) sum += data[y * 256 + x]!;
      return sum / n;
    };
    // The storyboard's ink figure stands at the bottom of the box (x ≈ 105–150, y ≈ 145–250);
    // the strips left and right of it are paper and screentone.
    expect(mean(112, 144)).toBeLessThan(mean(0, 60) - 10);
    expect(mean(112, 144)).toBeLessThan(mean(196, 256) - 10);
  });

  it('refuses storyboard init on a model without a VAE encoder', async () => {
    const plain = await selectRenderer(config({ model: 'tiny-noenc' }), { loader: inThreadLoader });
    try {
      expect(() => new DiffusionRenderer((plain as DiffusionRenderer).model, { storyboardInit: 0.6 })).toThrow(/needs a VAE encoder/);
    } finally {
      await close(plain);
    }
  });
});

describe('a model whose parts do not fit together', () => {
  it('fails with one readable line and leaves the process running', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koma-bad-model-'));
    const manifest = writeTinyModel(dir, { id: 'mismatched', family: 'sd15' });
    // The text encoder gives 8-wide token states; swap in a UNet that expects 16.
    writeFileSync(path.join(path.dirname(manifest), 'unet/model.onnx'), gaussianUnet(ALPHAS, { hidden: 16, tokens: 77 }));
    const renderer = await selectRenderer(config({ modelsDir: dir, model: 'mismatched' }), { loader: inThreadLoader });
    try {
      await expect(renderer.render(request())).rejects.toMatchObject({ code: 'model', message: expect.stringMatching(/8-wide token states but the UNet expects 16/) });
    } finally {
      await close(renderer);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
