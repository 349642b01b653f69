// Names for containers created without one, in Docker's style:
// adjective_surname (of a scientist or engineer), e.g. "brave_hopper".
// Docker avoids "boring_wozniak"; so does this list, by not having it.
const ADJECTIVES = [
  'admiring', 'adoring', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold', 'brave',
  'busy', 'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'cranky', 'crazy', 'dazzling',
  'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic',
  'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted',
  'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring',
  'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical',
  'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic',
  'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent',
  'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious',
  'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly',
  'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const SURNAMES = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bell', 'bhabha',
  'blackwell', 'bohr', 'boole', 'borg', 'bose', 'brahmagupta', 'brattain', 'burnell', 'cannon', 'carson',
  'cerf', 'chandrasekhar', 'clarke', 'cohen', 'curie', 'darwin', 'dijkstra', 'dirac', 'easley', 'einstein',
  'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo',
  'gauss', 'germain', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hertz', 'hodgkin', 'hoover',
  'hopper', 'hypatia', 'jackson', 'jemison', 'johnson', 'kalam', 'kepler', 'khorana', 'knuth', 'kowalevski',
  'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lovelace', 'mayer', 'mccarthy', 'mcclintock', 'meitner',
  'mendel', 'mirzakhani', 'morse', 'napier', 'nash', 'newton', 'nobel', 'noether', 'noyce', 'pascal',
  'pasteur', 'payne', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ritchie', 'rosalind',
  'sammet', 'shannon', 'shockley', 'sinoussi', 'stonebraker', 'swanson', 'tesla', 'thompson', 'torvalds', 'turing',
  'varahamihira', 'visvesvaraya', 'volhard', 'wescoff', 'wiles', 'williams', 'wilson', 'wing', 'wright', 'yalow',
];

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** A free adjective_surname name; after a few clashes a digit is added, as Docker does. */
export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}${i >= 10 ? String(Math.floor(Math.random() * 10)) : ''}`;
    if (!taken(name)) return name;
  }
}
