// The two-letter codes the API accepts for `state`, with their names.
export const US_STATES = [
  ['AL', 'Alabama'], ['AK', 'Alaska'], ['AZ', 'Arizona'], ['AR', 'Arkansas'],
  ['CA', 'California'], ['CO', 'Colorado'], ['CT', 'Connecticut'], ['DE', 'Delaware'],
  ['DC', 'District of Columbia'], ['FL', 'Florida'], ['GA', 'Georgia'], ['HI', 'Hawaii'],
  ['ID', 'Idaho'], ['IL', 'Illinois'], ['IN', 'Indiana'], ['IA', 'Iowa'], ['KS', 'Kansas'],
  ['KY', 'Kentucky'], ['LA', 'Louisiana'], ['ME', 'Maine'], ['MD', 'Maryland'],
  ['MA', 'Massachusetts'], ['MI', 'Michigan'], ['MN', 'Minnesota'], ['MS', 'Mississippi'],
  ['MO', 'Missouri'], ['MT', 'Montana'], ['NE', 'Nebraska'], ['NV', 'Nevada'],
  ['NH', 'New Hampshire'], ['NJ', 'New Jersey'], ['NM', 'New Mexico'], ['NY', 'New York'],
  ['NC', 'North Carolina'], ['ND', 'North Dakota'], ['OH', 'Ohio'], ['OK', 'Oklahoma'],
  ['OR', 'Oregon'], ['PA', 'Pennsylvania'], ['RI', 'Rhode Island'], ['SC', 'South Carolina'],
  ['SD', 'South Dakota'], ['TN', 'Tennessee'], ['TX', 'Texas'], ['UT', 'Utah'],
  ['VT', 'Vermont'], ['VA', 'Virginia'], ['WA', 'Washington'], ['WV', 'West Virginia'],
  ['WI', 'Wisconsin'], ['WY', 'Wyoming'], ['AS', 'American Samoa'], ['GU', 'Guam'],
  ['MP', 'Northern Mariana Islands'], ['PR', 'Puerto Rico'], ['VI', 'U.S. Virgin Islands'],
  ['UM', 'U.S. Minor Outlying Islands'], ['AA', 'Armed Forces Americas'],
  ['AE', 'Armed Forces Europe'], ['AP', 'Armed Forces Pacific'],
];

const CODES = new Set(US_STATES.map(([code]) => code));

/** Suggestions for a typed prefix of a code or a name. */
export function suggestStates(text) {
  const t = text.trim().toLowerCase();
  const rank = ([code, name]) => {
    const c = code.toLowerCase();
    const n = name.toLowerCase();
    if (!t || c === t) return 0;
    if (c.startsWith(t)) return 1;
    if (n.startsWith(t)) return 2;
    return n.includes(t) ? 3 : 4;
  };
  return US_STATES.map((s) => [s, rank(s)])
    .filter(([, r]) => r < 4)
    .sort((a, b) => a[1] - b[1])
    .map(([s]) => s);
}

/** A typed state as its code: `nc` and `North Carolina` both give `NC`. */
export function stateCode(text) {
  const t = text.trim();
  const upper = t.toUpperCase();
  if (CODES.has(upper)) return upper;
  const named = US_STATES.find(([, name]) => name.toLowerCase() === t.toLowerCase());
  return named ? named[0] : upper;
}
