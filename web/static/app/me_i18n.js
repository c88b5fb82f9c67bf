// The tent finder's languages and the one piece of wording that is not a
// message: the compass. The words themselves are in i18n/me.<lang>.js, one
// file per language, so that a phone loads only its own (docs/languages.md).

// finderLanguages are the tent finder's languages, in the picker's order:
// those of the pilgrims Dalil serves most (Bangladesh, Indonesia, Pakistan,
// Turkey, Egypt and North and West Africa), and the host country's.
export const finderLanguages = ['en', 'ar', 'bn', 'ur', 'id', 'tr', 'fr'];

// compassWord names the eighth of the compass a bearing falls in, from a
// catalogue's eight words (north first, clockwise).
export function compassWord(words, bearing) {
  const i = Math.round((((bearing % 360) + 360) % 360) / 45) % 8;
  return words[i];
}
