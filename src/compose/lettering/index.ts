export { balloonOutline, drawBalloons } from './draw.js';
export { FONT_DIALOGUE, FONT_JAPANESE, FONT_SHOUT, fontFor, registerLetteringFonts } from './fonts.js';
export { breakPieces, isJapaneseText, splitSentences } from './line-breaking.js';
export { estimateBalloonSize, placeDialogBoxes } from './placement.js';
export { MAX_FONT_SHARE, MIN_FONT_SHARE, planLettering, tailToward } from './plan.js';
export { balanceLines, enclosingEllipse, fitText } from './text-fit.js';
