import { access, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, KomaError } from '../../domain/errors.js';
import { formatZodError } from '../../domain/zod-errors.js';
import { OnnxComponent } from '../onnx/session.js';
import { type Capability, deriveCapabilities, requiredUnetInputs } from './capabilities.js';
import { familyDefaults, type Manifest, ManifestSchema, type ModelFamily } from './manifest.js';

/**
 * Installed models: `<modelsDir>/<id>/manifest.json`, found by listing, loaded
 * and checked here. `import` writes a manifest for a local optimum export;
 * `verify` opens every component and checks its inputs against the manifest.
 */
export interface ModelEntry {
  id: string;
  family: ModelFamily;
  installed: boolean;
  example: boolean;
  manifestPath: string;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

export async function readManifest(manifestPath: string): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new KomaError('model', `cannot read ${manifestPath}: ${describeError(error)}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw new KomaError('model', `${manifestPath}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

export function componentPath(manifestPath: string, manifest: Manifest, relative: string): string {
  return path.resolve(path.dirname(manifestPath), manifest.root, relative);
}

function requiredFiles(manifest: Manifest): string[] {
  const c = manifest.components;
  const declared = [c.textEncoder2, c.vaeEncoder, c.characterEncoder].filter((f): f is string => f !== undefined);
  const tokenizers = [c.tokenizer, ...(c.tokenizer2 ? [c.tokenizer2] : [])].flatMap((dir) => [path.join(dir, 'vocab.json'), path.join(dir, 'merges.txt')]);
  return [c.textEncoder, c.unet, c.vaeDecoder, ...declared, ...tokenizers];
}

/** Every manifest under modelsDir (one folder deep, plus examples/), installed or not. */
export async function listModels(modelsDir: string): Promise<ModelEntry[]> {
  const entries: ModelEntry[] = [];
  const scan = async (dir: string) => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const manifestPath = path.join(dir, name, 'manifest.json');
      if (!(await exists(manifestPath))) continue;
      const manifest = await readManifest(manifestPath);
      const present = await Promise.all(requiredFiles(manifest).map((f) => exists(componentPath(manifestPath, manifest, f))));
      entries.push({ id: manifest.id, family: manifest.family, installed: !manifest.example && present.every(Boolean), example: manifest.example, manifestPath });
    }
  };
  await scan(modelsDir);
  await scan(path.join(modelsDir, 'examples'));
  return entries;
}

export async function findModel(modelsDir: string, id: string): Promise<{ manifest: Manifest; manifestPath: string }> {
  const entry = (await listModels(modelsDir)).find((m) => m.id === id);
  if (!entry) throw new KomaError('not-found', `no model "${id}" in ${modelsDir} (see npm run models -- list)`);
  return { manifest: await readManifest(entry.manifestPath), manifestPath: entry.manifestPath };
}

async function unetInputs(file: string): Promise<string[]> {
  const unet = await OnnxComponent.load(file);
  try {
    return [...unet.inputNames];
  } finally {
    await unet.release();
  }
}

function guessFamily(dir: string, hasSecondEncoder: boolean, caps: Capability[], hiddenDim: number | string | undefined): ModelFamily {
  if (caps.includes('dialog-mask') || caps.includes('character-attention-masks')) return 'diffsensei';
  if (caps.includes('lcm-timestep-cond')) return 'lcm';
  const name = path.basename(dir).toLowerCase();
  if (hasSecondEncoder || caps.includes('sdxl-added-conditions')) return name.includes('turbo') ? 'sdxl-turbo' : 'sdxl';
  if (name.includes('turbo')) return 'sd-turbo';
  return hiddenDim === 1024 ? 'sd2' : 'sd15';
}

/** Writes `<modelsDir>/<id>/manifest.json` for an optimum-cli export folder. */
export async function importOptimumExport(exportDir: string, modelsDir: string, options: { id?: string } = {}): Promise<{ manifest: Manifest; manifestPath: string }> {
  const dir = path.resolve(exportDir);
  const unetFile = path.join(dir, 'unet', 'model.onnx');
  if (!(await exists(unetFile))) throw new KomaError('model', `${dir} has no unet/model.onnx: is it an optimum-cli export?`);
  const inputs = await unetInputs(unetFile);
  const caps = deriveCapabilities(inputs);
  const unet = await OnnxComponent.load(unetFile);
  const hiddenDim = unet.inputNames.includes('encoder_hidden_states') ? unet.inputInfo('encoder_hidden_states').shape[2] : undefined;
  await unet.release();
  const hasSecond = await exists(path.join(dir, 'text_encoder_2', 'model.onnx'));
  const family = guessFamily(dir, hasSecond, caps, hiddenDim);
  const id = options.id ?? path.basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  const manifest = ManifestSchema.parse({
    id,
    family,
    root: dir,
    description: `imported from ${dir}`,
    components: {
      ...(hasSecond ? { textEncoder2: 'text_encoder_2/model.onnx', tokenizer2: 'tokenizer_2' } : {}),
      ...((await exists(path.join(dir, 'vae_encoder', 'model.onnx'))) ? { vaeEncoder: 'vae_encoder/model.onnx' } : {}),
      ...((await exists(path.join(dir, 'character_encoder', 'model.onnx'))) ? { characterEncoder: 'character_encoder/model.onnx' } : {}),
    },
    ...familyDefaults(family),
    capabilities: caps,
  });
  const target = path.join(modelsDir, id);
  await mkdir(target, { recursive: true });
  const manifestPath = path.join(target, 'manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, manifestPath };
}

export interface VerifyReport {
  ok: boolean;
  lines: string[];
}

/** Opens every component on the CPU and checks files, inputs and capabilities. */
export async function verifyModel(modelsDir: string, id: string): Promise<VerifyReport> {
  const { manifest, manifestPath } = await findModel(modelsDir, id);
  const lines: string[] = [];
  let ok = true;
  const fail = (line: string) => {
    ok = false;
    lines.push(`FAIL ${line}`);
  };
  for (const file of requiredFiles(manifest)) {
    const full = componentPath(manifestPath, manifest, file);
    if (!(await exists(full))) fail(`${file}: missing`);
    else if ((await stat(full)).size === 0) fail(`${file}: empty`);
  }
  if (!ok) return { ok, lines };
  const components: [string, string][] = [
    ['text encoder', manifest.components.textEncoder],
    ...(manifest.components.textEncoder2 ? ([['text encoder 2', manifest.components.textEncoder2]] as [string, string][]) : []),
    ['vae decoder', manifest.components.vaeDecoder],
    ...(manifest.components.vaeEncoder ? ([['vae encoder', manifest.components.vaeEncoder]] as [string, string][]) : []),
    ...(manifest.components.characterEncoder ? ([['character encoder', manifest.components.characterEncoder]] as [string, string][]) : []),
  ];
  for (const [label, file] of components) {
    try {
      const component = await OnnxComponent.load(componentPath(manifestPath, manifest, file));
      lines.push(`ok   ${label}: inputs ${component.inputNames.join(', ')}`);
      await component.release();
    } catch (error) {
      fail(`${label} (${file}): ${describeError(error)}`);
    }
  }
  try {
    const inputs = await unetInputs(componentPath(manifestPath, manifest, manifest.components.unet));
    const caps = deriveCapabilities(inputs);
    const missing = requiredUnetInputs(manifest.capabilities).filter((n) => !inputs.includes(n));
    if (missing.length) fail(`unet: missing inputs ${missing.join(', ')} that the manifest's capabilities need`);
    const undeclared = manifest.capabilities.filter((c) => !caps.includes(c));
    if (undeclared.length) fail(`unet: the manifest claims ${undeclared.join(', ')} but the UNet's inputs do not offer it`);
    if (!missing.length && !undeclared.length) lines.push(`ok   unet: ${inputs.join(', ')} (${caps.join(', ') || 'no capabilities'})`);
  } catch (error) {
    fail(`unet (${manifest.components.unet}): ${describeError(error)}`);
  }
  return { ok, lines };
}
