import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { describeError, KomaError } from '../../domain/errors.js';
import type { InferenceComponent } from '../onnx/session.js';

/**
 * Reference images → DiffSensei character tokens [tokens, dim] (diffsensei.md
 * §2.3). The export bundles the image encoders and the resampler in one graph
 * (`character_encoder/model.onnx`) with one slot per character; it may take
 *   clip_pixel_values  shortest side to 224, centre crop, OpenAI CLIP mean/std
 *   magi_pixel_values  resized to 224×224, mean/std 0.5
 *   pixel_values       (a single-encoder export) the CLIP preprocessing
 * each [slots, 3, 224, 224]. References are read as grayscale (manga is
 * monochrome; DiffSensei's demo does the same). Empty slots are zeros, and the
 * unconditional tokens are the graph run on all-zero slots.
 */
const SIZE = 224;
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

export interface CharacterTokens {
  cond: Float32Array;
  uncond: Float32Array;
}

export class CharacterEncoder {
  /** The unconditional tokens depend on nothing but the graph: computed once. */
  private uncond: Promise<Float32Array> | undefined;

  constructor(private readonly graph: InferenceComponent) {}

  /** How many characters the export holds (its slot axis), 4 for DiffSensei. */
  get slots(): number {
    const declared = this.graph.inputInfo(this.graph.inputNames[0]!).shape[0];
    return typeof declared === 'number' ? declared : 4;
  }

  async encode(references: readonly (Buffer | undefined)[]): Promise<CharacterTokens> {
    if (references.length > this.slots) throw new KomaError('invalid-input', `${references.length} characters in one panel; this model holds at most ${this.slots}`);
    const dims = [this.slots, 3, SIZE, SIZE];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.graph.inputNames) {
      const style = name.startsWith('magi') ? 'magi' : 'clip';
      const data = new Float32Array(this.slots * 3 * SIZE * SIZE);
      for (const [slot, image] of references.entries()) {
        if (image) data.set(await preprocess(image, style), slot * 3 * SIZE * SIZE);
      }
      feeds[name] = new ort.Tensor('float32', data, dims);
    }
    const cond = await this.run(feeds);
    this.uncond ??= this.run(Object.fromEntries(this.graph.inputNames.map((name) => [name, new ort.Tensor('float32', new Float32Array(this.slots * 3 * SIZE * SIZE), dims)]))).catch(
      (error: unknown) => {
        this.uncond = undefined; // a failed run is not remembered
        throw error;
      },
    );
    return { cond, uncond: await this.uncond };
  }

  private async run(feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    return (await this.graph.run(feeds))[this.graph.outputNames[0]!]!.data as Float32Array;
  }
}

async function preprocess(image: Buffer, style: 'clip' | 'magi'): Promise<Float32Array> {
  let pixels: Buffer;
  try {
    const gray = sharp(image).grayscale();
    // CLIP: shortest side to 224 then centre crop; Magi: squash to 224×224.
    const resized = style === 'clip' ? gray.resize(SIZE, SIZE, { fit: 'cover', position: 'centre', kernel: 'cubic' }) : gray.resize(SIZE, SIZE, { fit: 'fill', kernel: 'cubic' });
    pixels = await resized.removeAlpha().toColourspace('b-w').raw().toBuffer();
  } catch (error) {
    throw new KomaError('bad-image', `a character reference image cannot be read: ${describeError(error)}`);
  }
  const cells = SIZE * SIZE;
  const out = new Float32Array(3 * cells);
  for (let c = 0; c < 3; c++) {
    const [mean, std] = style === 'clip' ? [CLIP_MEAN[c]!, CLIP_STD[c]!] : [0.5, 0.5];
    for (let i = 0; i < cells; i++) out[c * cells + i] = (pixels[i]! / 255 - mean) / std;
  }
  return out;
}
