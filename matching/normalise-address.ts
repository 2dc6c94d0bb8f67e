import { foldToAscii, memoise, squash } from './text.ts';

/**
 * Street-type and directional words and their standard abbreviations (USPS Publication 28, Appendix C1/C2),
 * plus the common Australian/UK street types (Australia Post addressing standard).
 */
const ADDRESS_WORDS = new Map<string, string>(
  Object.entries({
    street: 'st',
    str: 'st',
    avenue: 'ave',
    av: 'ave',
    road: 'rd',
    drive: 'dr',
    drv: 'dr',
    lane: 'ln',
    court: 'ct',
    crt: 'ct',
    place: 'pl',
    boulevard: 'blvd',
    circle: 'cir',
    crescent: 'cres',
    cresent: 'cres',
    terrace: 'ter',
    tce: 'ter',
    parkway: 'pkwy',
    highway: 'hwy',
    square: 'sq',
    trail: 'trl',
    close: 'cl',
    circuit: 'cct',
    grove: 'gr',
    grv: 'gr',
    parade: 'pde',
    esplanade: 'esp',
    expressway: 'expy',
    freeway: 'fwy',
    point: 'pt',
    mount: 'mt',
    heights: 'hts',
    junction: 'jct',
    center: 'ctr',
    centre: 'ctr',
    apartment: 'unit',
    apartments: 'unit',
    apt: 'unit',
    suite: 'unit',
    ste: 'unit',
    flat: 'unit',
    room: 'unit',
    rm: 'unit',
    building: 'bldg',
    floor: 'fl',
    post: 'po',
    box: 'box',
    north: 'n',
    south: 's',
    east: 'e',
    west: 'w',
    northeast: 'ne',
    northwest: 'nw',
    southeast: 'se',
    southwest: 'sw',
  }),
);

const UNIT = 'unit';
const code = (c: string) => c.charCodeAt(0);
const [LOWER_A, LOWER_Z, DIGIT_0, DIGIT_9] = [code('a'), code('z'), code('0'), code('9')];
const [APOSTROPHE, PERIOD, HASH, SPACE] = [code("'"), code('.'), code('#'), code(' ')];

/**
 * Cleans an address line: ASCII folding, punctuation to spaces, standard abbreviations, and "#" for a unit
 * number ("Apt. #4B" = "unit 4b").
 */
export function cleanAddressLine(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const text = foldToAscii(raw);
  // One pass over the folded text: apostrophes and periods vanish ("st." = "st"), "#" is a unit designator, any
  // other character but a-z and 0-9 ends a word. Each word is abbreviated as it ends.
  let out = '';
  let word = '';
  let start = -1;
  let last: string | null = null;
  const emit = (token: string) => {
    const standard = ADDRESS_WORDS.get(token) ?? token;
    // "unit unit 4" arises from "Apt #4"; keep one designator.
    if (standard === UNIT && last === UNIT) return;
    out = last === null ? standard : `${out} ${standard}`;
    last = standard;
  };
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : SPACE;
    if ((c >= LOWER_A && c <= LOWER_Z) || (c >= DIGIT_0 && c <= DIGIT_9)) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      word += text.slice(start, i);
      start = -1;
    }
    if (c === APOSTROPHE || c === PERIOD) continue;
    if (word !== '') emit(word);
    word = '';
    if (c === HASH) emit(UNIT);
  }
  return last === null ? null : out;
}

/** Splits "12a main st" into the house number ("12a") and the rest ("main st"). */
export function splitStreet(line: string | null): { number: string | null; name: string | null } {
  if (line === null) return { number: null, name: null };
  const m = /^(\d+[a-z]?)\s+(.*)$/.exec(line);
  if (!m) return { number: null, name: line };
  return { number: m[1]!, name: m[2]! === '' ? null : m[2]! };
}

/** City or suburb: folded, punctuation removed, "Saint"/"St." unified, "Mount" -> "mt". */
export function cleanCity(raw: string | null | undefined): string | null {
  return raw === null || raw === undefined ? null : cleanCityCached(raw);
}

const cleanCityCached = memoise((raw: string): string | null => {
  const text = squash(
    foldToAscii(raw)
      .replace(/['.]/g, '')
      .replace(/[^a-z0-9]+/g, ' '),
  );
  if (text === null) return null;
  return text
    .split(' ')
    .map((t) => (t === 'saint' ? 'st' : t === 'mount' ? 'mt' : t === 'fort' ? 'ft' : t))
    .join(' ');
});

/** US state and territory names mapped to their USPS codes; other regions' codes pass through upper-cased. */
const US_STATES = new Map<string, string>(
  Object.entries({
    alabama: 'AL',
    alaska: 'AK',
    arizona: 'AZ',
    arkansas: 'AR',
    california: 'CA',
    colorado: 'CO',
    connecticut: 'CT',
    delaware: 'DE',
    'district of columbia': 'DC',
    florida: 'FL',
    georgia: 'GA',
    hawaii: 'HI',
    idaho: 'ID',
    illinois: 'IL',
    indiana: 'IN',
    iowa: 'IA',
    kansas: 'KS',
    kentucky: 'KY',
    louisiana: 'LA',
    maine: 'ME',
    maryland: 'MD',
    massachusetts: 'MA',
    michigan: 'MI',
    minnesota: 'MN',
    mississippi: 'MS',
    missouri: 'MO',
    montana: 'MT',
    nebraska: 'NE',
    nevada: 'NV',
    'new hampshire': 'NH',
    'new jersey': 'NJ',
    'new mexico': 'NM',
    'new york': 'NY',
    'north carolina': 'NC',
    'north dakota': 'ND',
    ohio: 'OH',
    oklahoma: 'OK',
    oregon: 'OR',
    pennsylvania: 'PA',
    'rhode island': 'RI',
    'south carolina': 'SC',
    'south dakota': 'SD',
    tennessee: 'TN',
    texas: 'TX',
    utah: 'UT',
    vermont: 'VT',
    virginia: 'VA',
    washington: 'WA',
    'west virginia': 'WV',
    wisconsin: 'WI',
    wyoming: 'WY',
    'puerto rico': 'PR',
    guam: 'GU',
  }),
);

/** State or region code, upper-case; US state names become USPS codes. */
export function cleanState(raw: string | null | undefined): string | null {
  return raw === null || raw === undefined ? null : cleanStateCached(raw);
}

const cleanStateCached = memoise((raw: string): string | null => {
  const text = squash(foldToAscii(raw).replace(/[^a-z]+/g, ' '));
  if (text === null) return null;
  return US_STATES.get(text) ?? text.replace(/ /g, '').toUpperCase();
});

/** Postal code: alphanumerics upper-cased; a US ZIP+4 keeps its 5-digit ZIP. */
export function cleanPostalCode(raw: string | null | undefined): string | null {
  return raw === null || raw === undefined ? null : cleanPostalCached(raw);
}

const cleanPostalCached = memoise((raw: string): string | null => {
  const compact = raw.toUpperCase().replace(/[^0-9A-Z]+/g, '');
  if (compact === '' || /^0+$/.test(compact)) return null;
  if (/^\d{9}$/.test(compact)) return compact.slice(0, 5);
  return compact;
});
