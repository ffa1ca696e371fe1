import type { Config } from '../config/config.js';
import { KomaError } from '../domain/errors.js';
import { listModels, readManifest } from '../diffusion/models/registry.js';
import { InferenceThread } from '../diffusion/onnx/inference-thread.js';
import { type ComponentLoader, DiffusionModel } from '../diffusion/pipeline/diffusion-model.js';
import { DiffusionRenderer, type DiffusionRendererOptions } from './diffusion/diffusion-renderer.js';
import type { PanelRenderer } from './panel-renderer.js';
import { StoryboardRenderer } from './storyboard/storyboard-renderer.js';

/**
 * Picks the panel renderer from config: `storyboard` always works (no weights);
 * `diffusion` needs an installed model; `auto` uses diffusion when one is
 * installed (render.model, else the first installed one) and falls back to
 * the storyboard otherwise. Model sessions live in one worker thread, so
 * inference never blocks the caller's event loop.
 */
export interface SelectRendererOptions {
  warn?: (line: string) => void;
  /** Where components are opened (default: one shared worker thread). */
  loader?: ComponentLoader;
  renderer?: DiffusionRendererOptions;
}

export async function selectRenderer(config: Config, options: SelectRendererOptions = {}): Promise<PanelRenderer> {
  const choice = config.render.renderer;
  if (choice === 'storyboard') return new StoryboardRenderer();
  const { modelsDir, model: wanted } = config.render;
  const installed = (await listModels(modelsDir)).filter((m) => m.installed);
  const entry = wanted ? installed.find((m) => m.id === wanted) : installed[0];
  if (!entry) {
    if (wanted) throw new KomaError('model', `model "${wanted}" (render.model) is not installed in ${modelsDir}/; see npm run models -- list`);
    if (choice === 'diffusion') {
      throw new KomaError('model', `the diffusion renderer needs an installed model in ${modelsDir}/ (see models/README.md); use --renderer storyboard meanwhile`);
    }
    return new StoryboardRenderer();
  }

  const manifest = await readManifest(entry.manifestPath);
  const load = (loader: ComponentLoader) =>
    DiffusionModel.load(entry.manifestPath, manifest, { loader, executionProvider: config.render.executionProvider, ...(options.warn ? { warn: options.warn } : {}) });
  const settings: DiffusionRendererOptions = {
    ...(config.render.storyboardInit ? { storyboardInit: config.render.storyboardInit } : {}),
    ...(config.render.steps ? { steps: config.render.steps } : {}),
    ...options.renderer,
  };
  if (options.loader) return new DiffusionRenderer(await load(options.loader), settings);

  // All of the model's sessions in one worker thread; if it dies, the next render starts a new one.
  let thread = new InferenceThread();
  const inThread: ComponentLoader = (file, loadOptions) => thread.load(file, loadOptions);
  try {
    return new DiffusionRenderer(await load(inThread), {
      ...settings,
      onClose: () => thread.close(),
      lost: () => thread.isStopped,
      reload: async () => {
        await thread.close();
        thread = new InferenceThread();
        return load(inThread);
      },
    });
  } catch (error) {
    await thread.close();
    throw error;
  }
}
