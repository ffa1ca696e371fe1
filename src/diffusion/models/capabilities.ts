/**
 * What a UNet can be given, read from its input names (session.inputMetadata),
 * never assumed from the family: an SDXL export without `time_ids` would fail
 * at the first step otherwise.
 */
export const CAPABILITIES = [
  'text-conditioning',
  'sdxl-added-conditions',
  'lcm-timestep-cond',
  'character-tokens',
  'character-attention-masks',
  'dialog-mask',
  'character-scale',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export function deriveCapabilities(unetInputNames: readonly string[]): Capability[] {
  const names = new Set(unetInputNames);
  const has = (pattern: RegExp) => unetInputNames.some((n) => pattern.test(n));
  const caps: Capability[] = [];
  if (names.has('encoder_hidden_states')) caps.push('text-conditioning');
  if (names.has('text_embeds') && names.has('time_ids')) caps.push('sdxl-added-conditions');
  if (names.has('timestep_cond')) caps.push('lcm-timestep-cond');
  // DiffSensei-style exports: character tokens either separate or appended to encoder_hidden_states
  // (the masks below tell the latter apart from plain text conditioning).
  if (has(/^(character_tokens|ip_tokens|image_prompt_embeds)$/) || has(/^ip_bias_s\d+$/)) caps.push('character-tokens');
  if (has(/^ip_bias_s\d+$/) || names.has('ip_bbox') || has(/^character_attention_mask/)) caps.push('character-attention-masks');
  if (names.has('dialog_mask')) caps.push('dialog-mask');
  if (names.has('ip_scale') || names.has('character_scale')) caps.push('character-scale');
  return caps;
}

/** The inputs every UNet must have, and what each family adds. */
export function requiredUnetInputs(capabilities: readonly Capability[]): string[] {
  const inputs = ['sample', 'timestep', 'encoder_hidden_states'];
  if (capabilities.includes('sdxl-added-conditions')) inputs.push('text_embeds', 'time_ids');
  if (capabilities.includes('lcm-timestep-cond')) inputs.push('timestep_cond');
  if (capabilities.includes('dialog-mask')) inputs.push('dialog_mask');
  return inputs;
}
