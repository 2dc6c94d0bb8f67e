// talisman ships no type declarations; declare the modules we use.
declare module 'talisman/metrics/jaro-winkler.js' {
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}
declare module 'talisman/phonetics/double-metaphone.js' {
  const doubleMetaphone: (word: string) => [string, string];
  export default doubleMetaphone;
}
declare module 'talisman/phonetics/nysiis.js' {
  const nysiis: (word: string) => string;
  export default nysiis;
}
declare module 'talisman/phonetics/soundex.js' {
  const soundex: (word: string) => string;
  export default soundex;
}
