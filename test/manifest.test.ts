import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveCapabilities } from '../src/diffusion/models/capabilities.js';
import { importOptimumExport, listModels, verifyModel } from '../src/diffusion/models/registry.js';
import { tinyTextEncoder, tinyUnet, tinyUnetWithExtras, tinyVaeDecoder } from './support/onnx/tiny-models.js';
import { writeTinyModel } from './support/tiny-model-folder.js';

const SDXL_EXTRAS = [
  { name: 'text_embeds', shape: ['batch', 1280] },
  { name: 'time_ids', shape: ['batch', 6] },
];

function exportFolder(name: string, unet: Uint8Array, options: { secondEncoder?: boolean } = {}): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'koma-models-')), name);
  const put = (rel: string, bytes: Uint8Array | string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), bytes);
  };
  put('text_encoder/model.onnx', tinyTextEncoder());
  if (options.secondEncoder) {
    put('text_encoder_2/model.onnx', tinyTextEncoder());
    put('tokenizer_2/vocab.json', '{"a</w>": 0}');
    put('tokenizer_2/merges.txt', '#version: 0.2\n');
  }
  put('unet/model.onnx', unet);
  put('vae_decoder/model.onnx', tinyVaeDecoder());
  put('tokenizer/vocab.json', '{"a</w>": 0}');
  put('tokenizer/merges.txt', '#version: 0.2\n');
  return dir;
}

describe('capabilities from UNet input names', () => {
  it('tells families apart by what their UNets take', () => {
    expect(deriveCapabilities(['sample', 'timestep', 'encoder_hidden_states'])).toEqual(['text-conditioning']);
    expect(deriveCapabilities(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids'])).toEqual(['text-conditioning', 'sdxl-added-conditions']);
    expect(deriveCapabilities(['sample', 'timestep', 'encoder_hidden_states', 'timestep_cond'])).toEqual(['text-conditioning', 'lcm-timestep-cond']);
    expect(
      deriveCapabilities(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids', 'ip_bias_s16', 'ip_bias_s32', 'dialog_mask', 'ip_scale']),
    ).toEqual(['text-conditioning', 'sdxl-added-conditions', 'character-tokens', 'character-attention-masks', 'dialog-mask', 'character-scale']);
  });
});

describe('model registry', () => {
  it('imports an SD 1.5-style export, lists it as installed and verifies it', async () => {
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-installed-'));
    const { manifest } = await importOptimumExport(exportFolder('my-sd15', tinyUnet('float32')), modelsDir);
    expect(manifest.family).toBe('sd15');
    expect(manifest.capabilities).toEqual(['text-conditioning']);
    expect(manifest.vaeScalingFactor).toBe(0.18215);
    expect(await listModels(modelsDir)).toMatchObject([{ id: 'my-sd15', family: 'sd15', installed: true }]);
    const report = await verifyModel(modelsDir, 'my-sd15');
    expect(report.ok).toBe(true);
    expect(report.lines.join('\n')).toMatch(/ok {3}unet: sample, timestep, encoder_hidden_states/);
  });

  it('recognises SDXL, LCM and DiffSensei exports from their inputs', async () => {
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-installed-'));
    const sdxl = await importOptimumExport(exportFolder('xl', tinyUnetWithExtras(SDXL_EXTRAS), { secondEncoder: true }), modelsDir);
    expect([sdxl.manifest.family, sdxl.manifest.sizeMultiple, sdxl.manifest.components.textEncoder2]).toEqual(['sdxl', 32, 'text_encoder_2/model.onnx']);
    const lcm = await importOptimumExport(exportFolder('fast', tinyUnetWithExtras([{ name: 'timestep_cond', shape: ['batch', 256] }])), modelsDir);
    expect(lcm.manifest.family).toBe('lcm');
    const ds = await importOptimumExport(
      exportFolder('manga', tinyUnetWithExtras([...SDXL_EXTRAS, { name: 'ip_bias_s16', shape: ['batch', 1, 'q16', 80] }, { name: 'dialog_mask', shape: ['batch', 1, 'height', 'width'] }, { name: 'ip_scale', shape: [1] }]), { secondEncoder: true }),
      modelsDir,
    );
    expect(ds.manifest.family).toBe('diffsensei');
    expect(ds.manifest.capabilities).toContain('dialog-mask');
    expect((await verifyModel(modelsDir, 'manga')).ok).toBe(true);
  });

  it('reports a truncated component and a UNet missing an input the manifest needs', async () => {
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-installed-'));
    const exportDir = exportFolder('broken', tinyUnetWithExtras(SDXL_EXTRAS), { secondEncoder: true });
    await importOptimumExport(exportDir, modelsDir);
    writeFileSync(path.join(exportDir, 'vae_decoder/model.onnx'), tinyVaeDecoder().slice(0, 30));
    writeFileSync(path.join(exportDir, 'unet/model.onnx'), tinyUnet('float32'));
    const report = await verifyModel(modelsDir, 'broken');
    expect(report.ok).toBe(false);
    const text = report.lines.join('\n');
    expect(text).toMatch(/FAIL vae decoder \(vae_decoder\/model\.onnx\): cannot load/);
    expect(text).toMatch(/FAIL unet: missing inputs text_embeds, time_ids/);
  });

  it('lists the example manifests as not installed', async () => {
    const entries = await listModels(path.join(import.meta.dirname, '..', 'models'));
    expect(entries.map((e) => e.id).sort()).toEqual(['diffsensei-example', 'sd-turbo-example', 'sd15-example', 'sdxl-example']);
    expect(entries.every((e) => e.example && !e.installed)).toBe(true);
  });
  it('imports a whole DiffSensei export, character encoder included, and verifies every component', async () => {
    const exports = mkdtempSync(path.join(os.tmpdir(), 'koma-ds-export-'));
    const manifestPath = writeTinyModel(exports, { id: 'manga-ds', family: 'diffsensei', characterEncoder: true, vaeEncoder: true });
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-ds-models-'));
    const { manifest } = await importOptimumExport(path.dirname(manifestPath), modelsDir);
    expect(manifest).toMatchObject({ id: 'manga-ds', family: 'diffsensei', characterScale: 0.6, defaultGuidance: 7.5 });
    expect(manifest.components).toMatchObject({ textEncoder2: 'text_encoder_2/model.onnx', vaeEncoder: 'vae_encoder/model.onnx', characterEncoder: 'character_encoder/model.onnx' });
    const report = await verifyModel(modelsDir, 'manga-ds');
    expect(report.ok).toBe(true);
    expect(report.lines.some((l) => l.startsWith('ok   character encoder'))).toBe(true);
  });
});
