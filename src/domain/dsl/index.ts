export { BOX_PRESETS, formatBox, parseBox } from './box-dsl.js';
export { formatCast, parseCast } from './cast-dsl.js';
export { type CastMember, findCastMember } from './cast-member.js';
export { formatDialogs, parseDialogs } from './dialog-dsl.js';
export { closestName, editDistance } from './suggest.js';
