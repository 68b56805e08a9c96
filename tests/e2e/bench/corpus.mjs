// The search benchmark's corpus: a deterministic, multilingual mailbox. Message n is a pure
// function of (seed, n), so the page and the worker generate the same mail batch by batch
// without holding the corpus in memory.
//
// Each message: a language (en 40%, fr 15%, de 15%, nl 15%, sv 15%), a sender and recipients
// from a pool of people, a subject, a body of sentences drawn from a Zipf-distributed
// vocabulary (common words of the language plus a long tail of made-up words, as real mail
// has names, products and typos), sizes from 1 to 50 KB (log-normal, about 2.5 KB on average),
// a third of them replies quoting the message they answer, some with attachment names.

const COMMON = {
  en: 'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will can more other what up out who said about do into than them some time could then my two these may first any new like our over me now only very after most also made people many just see good way well should work year back much where meeting budget invoice report project team review office week monday tuesday friday please thanks regards attached figures quarterly plan schedule call client contract payment order delivery account update question answer travel hotel flight lunch dinner family weekend holiday photos school doctor appointment'.split(' '),
  fr: 'le de la et les des en un une du est que pour dans qui pas au sur par plus avec ce il sont nous vous mais ou comme bien tout cette leur elle aussi fait sans deux peu ont trois encore entre alors depuis merci bonjour cordialement réunion équipe projet facture budget rapport semaine lundi mardi jeudi vendredi rendez-vous contrat paiement commande livraison compte question réponse voyage hôtel vol déjeuner dîner famille vacances photos école médecin chiffres trimestriels prévu réservé été année demain hier très après où déjà même'.split(' '),
  de: 'der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei hallo danke grüße besprechung team projekt rechnung budget bericht woche montag dienstag donnerstag freitag termin vertrag zahlung bestellung lieferung konto frage antwort reise hotel flug mittagessen familie urlaub fotos schule arzt zahlen quartal häuser größe straße münchen über für schön'.split(' '),
  nl: 'de van een het en in is dat op te zijn voor met die niet aan er om ook als dan maar bij nog wel uit kan naar wat door over ze zich tot heeft hij meer wordt geen jaar wij hoi bedankt groeten vergadering team project factuur budget rapport week maandag dinsdag donderdag vrijdag afspraak contract betaling bestelling levering rekening vraag antwoord reis hotel vlucht lunch familie vakantie fotos school dokter cijfers kwartaal boeken morgen gisteren'.split(' '),
  sv: 'och i att det som en på är av för med till den har de inte om ett han men var jag sig från vi så kan man när år säger hon under också efter eller nu sin där vid mot ska hade hej tack hälsningar möte team projekt faktura budget rapport vecka måndag tisdag torsdag fredag avtal betalning beställning leverans konto fråga svar resa hotell flyg lunch familj semester foton skola läkare siffror kvartal fakturorna bilarna malmö göteborg här är klara'.split(' '),
};
const LANGUAGES = ['en', 'en', 'en', 'en', 'fr', 'fr', 'de', 'de', 'nl', 'nl', 'sv', 'sv'].slice(0, 10).concat(['fr', 'de', 'nl', 'sv']);
const FIRST = 'Alice Bob Carol David Emma Frank Greta Hugo Inès Jörg Karin Lars Marie Nils Olga Pierre Quentin Rosa Sven Tilde Ulla Victor Wim Xavier Yvonne Zoé Åsa Émile Björn Daan'.split(' ');
const LAST = 'Martin Berg Dupont Schäfer de Vries Andersson Müller Lefèvre Jansen Nilsson Bakker Dubois Fischer Lindqvist Visser Moreau Weber Johansson Smit Laurent'.split(' ');
const DOMAINS = ['plico.test', 'example.org', 'exemple.fr', 'beispiel.de', 'voorbeeld.nl', 'exempel.se'];
const SYLLABLES = 'ka lo mi ne ru ta ve so pi da ge lu ha fo ri be mo zu ne ki ja po sa tu le wi na de ro mu'.split(' ');

/** mulberry32: a small deterministic PRNG. */
function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The long tail: made-up word k of a language (k from 0), stable. */
function tailWord(language, k) {
  const random = rng(k * 7919 + language.charCodeAt(0) * 31 + language.charCodeAt(1));
  const length = 2 + Math.floor(random() * 3);
  let word = '';
  for (let i = 0; i < length; i += 1) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
  return word + (k % 7 === 0 ? 's' : '');
}

/** A Zipf-like draw of word rank: small ranks often, a tail up to `tail`. */
function zipf(random, tail) {
  return Math.floor(Math.pow(tail, random() ** 1.6)) - 1;
}

function word(random, language) {
  const common = COMMON[language];
  if (random() < 0.72) return common[zipf(random, common.length + 1)];
  return tailWord(language, zipf(random, 40_000));
}

function person(random) {
  const first = FIRST[Math.floor(random() * FIRST.length)];
  const last = LAST[Math.floor(random() * LAST.length)];
  const domain = DOMAINS[Math.floor(random() * DOMAINS.length)];
  const local = `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z.]/g, '');
  return `${first} ${last} <${local}@${domain}>`;
}

function sentence(random, language) {
  const length = 6 + Math.floor(random() * 14);
  const words = [];
  for (let i = 0; i < length; i += 1) words.push(word(random, language));
  if (random() < 0.1) words.push(String(Math.floor(random() * 100_000)));
  const text = words.join(' ');
  return text[0].toUpperCase() + text.slice(1) + (random() < 0.1 ? '?' : '.');
}

/** Target body size: log-normal, median ~1.7 KB, mean ~2.5 KB, within 1 and 50 KB. */
function bodySize(random) {
  const gaussian = Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random());
  return Math.min(50_000, Math.max(1_000, Math.round(Math.exp(7.45 + 0.85 * gaussian))));
}

function subjectOf(seed, n) {
  const random = rng(seed * 1_000_003 + n * 3 + 1);
  const language = LANGUAGES[Math.floor(random() * LANGUAGES.length)];
  const length = 2 + Math.floor(random() * 5);
  const words = [];
  for (let i = 0; i < length; i += 1) words.push(word(random, language));
  return { language, subject: words.join(' ').replace(/^./, (c) => c.toUpperCase()) };
}

/** Message n of corpus `seed`: { id, date, subject, from, to, body, attachment, bytes }. */
export function message(seed, n) {
  const random = rng(seed * 2_654_435_761 + n);
  const reply = n > 10 && random() < 0.3;
  const parent = reply ? n - 1 - Math.floor(random() * Math.min(n - 1, 50)) : n;
  let { language, subject } = subjectOf(seed, parent);
  if (reply) subject = `Re: ${subject}`;
  const from = person(random);
  const to = [person(random)];
  if (random() < 0.3) to.push(person(random));
  const target = bodySize(random);
  let body = '';
  while (body.length < target) {
    body += sentence(random, language) + (random() < 0.2 ? '\n\n' : ' ');
  }
  if (reply) body += `\n\nOn an earlier day, someone wrote:\n> ${sentence(random, language)}\n> ${sentence(random, language)}`;
  const attachment = random() < 0.15 ? `${word(random, language)}-${n}.pdf` : '';
  const date = 1_700_000_000 + n * 300 + Math.floor(random() * 300);
  const bytes = new TextEncoder().encode(subject + from + to.join(', ') + body + attachment).length;
  return { id: `m${n}`, date, subject, from, to: to.join(', '), body, attachment, bytes };
}

/** The fixed query set: words, two words, prefixes, fields. MiniSearch runs the same. */
export function queries(seed) {
  const random = rng(seed + 99);
  const out = [];
  const languages = Object.keys(COMMON);
  for (let i = 0; i < 10; i += 1) {
    const language = languages[i % languages.length];
    const common = (from, span) => COMMON[language][(from + Math.floor(random() * span)) % COMMON[language].length];
    out.push({ words: [common(40, 60)] });
    out.push({ words: [tailWord(language, Math.floor(random() * 2000))] });
    out.push({ words: [common(60, 80), tailWord(language, Math.floor(random() * 300))] });
    const prefixed = tailWord(language, Math.floor(random() * 500));
    out.push({ words: [common(80, 60), prefixed.slice(0, Math.max(3, prefixed.length - 2))], prefix: true });
  }
  for (const name of ['Alice', 'Jörg', 'Åsa', 'Pierre', 'Daan']) out.push({ words: [name.toLowerCase()], field: 'from' });
  return out;
}

/** A query as Plico's query language writes it. */
export function plicoQuery(query) {
  const words = query.words.map((w) => (query.field ? `${query.field}:${w}` : w));
  return words.join(' ') + (query.prefix ? '' : ' ');
}
