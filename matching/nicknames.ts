/**
 * English and Spanish given-name diminutives and short forms, as "formal: alias alias ...". Compiled from common
 * usage (US/UK/Australian and Hispanic naming conventions); an alias may belong to several formal names ("chris",
 * "alex"); a formal name may appear twice (the entries are merged).
 * Lower-case ASCII, as produced by the name normaliser.
 */
const NICKNAME_GROUPS = `
abigail: abby abbie gail
abraham: abe bram
adam: ad
adrian: adie
albert: al bert bertie
alexander: alex alec al sandy xander lex
alexandra: alex alexa sandra sandy lexi
alfred: al alf alfie fred freddie
alice: allie ally
allison: allie ally ali
amanda: mandy manda
andrew: andy drew
angela: angie
anne: ann annie nan nancy
anthony: tony ant
antonio: tony
archibald: archie
arthur: art artie
barbara: barb barbie babs
benjamin: ben benny benji
bernard: bernie
beverly: bev
bradley: brad
brian: bri
bridget: biddy bridie
caroline: carrie carol callie
catherine: cathy cath kate katie cat
charles: charlie chuck chas chaz
charlotte: charlie lottie lotte
christina: chris tina chrissy christy
christine: chris chrissy christy tina
christopher: chris kit topher
clifford: cliff
cynthia: cindy
daniel: dan danny
david: dave davy
deborah: deb debbie debby
dennis: denny
dominic: dom
donald: don donnie
dorothy: dot dottie dolly
douglas: doug
edward: ed eddie ned ted teddy
eleanor: ellie nell nora
elizabeth: liz lizzie beth betty betsy eliza libby bess lisa elisa ellie
emily: em emmy
emma: em emmie
eugene: gene
evelyn: evie
frances: fran fanny frankie
francis: frank fran
franklin: frank
frederick: fred freddie freddy
gabriel: gabe
gabrielle: gabby gabi
geoffrey: geoff jeff
gerald: gerry jerry
gertrude: gertie trudy
gregory: greg
harold: harry hal
harriet: hattie
helen: nell nellie
henry: hank harry hal
herbert: herb bert
howard: howie
isabella: bella izzy isabel
isabelle: bella izzy
jacob: jake jay
jacqueline: jackie jacqui
james: jim jimmy jamie jem
janet: jan
jean: jeanie
jeffrey: jeff
jennifer: jen jenny jenn
jeremy: jerry
jessica: jess jessie
joan: joanie
john: jack johnny jon
jonathan: jon jonny nathan
joseph: joe joey jo
josephine: jo josie
joshua: josh
judith: judy jude
julia: julie jules
katherine: kate katie kathy kath kat kitty
kathleen: kathy kath kate
kenneth: ken kenny
kimberly: kim
lawrence: larry laurie
leonard: leo len lenny
leslie: les
lillian: lily lil
louis: lou
louise: lou lulu
lucas: luke
madeline: maddie maddy
margaret: maggie meg peggy peg marge madge greta
marie: mary
marjorie: marge margie
martha: marty mattie
martin: marty
mary: molly polly mae mamie
matilda: tilly tilda
matthew: matt matty
melissa: mel missy
michael: mike mikey mick mickey
michelle: shelly
mitchell: mitch
nathan: nate
nathaniel: nate nat nathan
nicholas: nick nicky
nicole: nicky nikki
oliver: ollie
pamela: pam
patricia: pat patty trish tricia
patrick: pat paddy
peter: pete
philip: phil pip
phillip: phil
rebecca: becky becca
richard: rick rich ricky dick rich
robert: bob rob robbie bobby bert
rodney: rod
ronald: ron ronnie
rosemary: rose rosie
russell: russ
samantha: sam sammy
samuel: sam sammy
sarah: sally sadie
stephanie: steph stevie
stephen: steve stevie
steven: steve stevie
stuart: stu
susan: sue susie suzy
suzanne: sue susie suzy
terence: terry
theodore: ted teddy theo
thomas: tom tommy
timothy: tim timmy
valerie: val
veronica: ronnie vera
victoria: vicky tori vic
vincent: vince vinny
virginia: ginny ginger
walter: walt wally
william: bill billy will willy liam
winifred: winnie
zachary: zach zack
aaron: ron ronnie
abigail: abby abbie gail
addison: addie
adeline: addie
agnes: aggie
alan: al
alejandra: ale alex sandra
alejandro: alex ale jandro
alfonso: poncho
amelia: millie amy
andrea: andi
angelina: angie lina
annabelle: anna belle
antonia: toni
ashley: ash
augustine: gus
augustus: gus
austin: aus
beatrice: bea trixie
benedict: ben
bernadette: bernie
bradford: brad
brandon: bran
calvin: cal
cameron: cam
camille: cami
carlos: carl
carolyn: carol carrie
cassandra: cassie cass
cecilia: cece cissy
christian: chris
clarence: clare
colleen: colly
constance: connie
cornelius: neil corny
cristina: cris tina
cristopher: chris
daniela: dani
danielle: dani elle
delores: dee lola
dolores: lola dee
donna: donnie
dorothea: dora
eduardo: lalo eddie ed
elena: ellie lena
eliza: liza
elizabeth: liz
ellen: ellie
enrique: kike henry
ernest: ernie
esther: essie
eugenia: genie
evangeline: eva evie
ezekiel: zeke
felicia: fliss
fernando: nando
florence: flo flossie
francesca: fran frankie
francisco: frank paco pancho cisco
gabriela: gaby gabi
genevieve: gen genny
georgia: georgie
george: georgie
gerardo: gerry
gilbert: gil
gloria: glory
gregorio: goyo
guadalupe: lupe lupita
guillermo: memo will
harrison: harry
hector: tito
henrietta: etta hattie
ignacio: nacho
isaac: ike
isaiah: izzy
jackson: jack jax
jasmine: jas jazz
jennifer: jenna
jesus: chuy
joanna: jo
johanna: jo hanna
jose: pepe joe
josefina: pepa josie
juan: johnny
juliana: julie
katelyn: kate katie
kayla: kay
kristen: kris kristy
kristopher: kris chris
lauren: laurie
leonardo: leo
lucille: lucy
lucinda: lucy cindy
luis: lou
madison: maddie maddy madi
magdalena: maggie lena
makayla: kayla
manuel: manny
marcus: marc
margarita: rita marga
maria: mari
mariana: mari
marilyn: mary lyn
matilde: tilly
maximilian: max
maxwell: max
megan: meg
mercedes: meche sadie
mildred: millie
miranda: randi
mckenzie: kenzie
mackenzie: kenzie mack
natalie: nat
natasha: tasha nat
nicolas: nick nico
norman: norm
olivia: liv livvy
ophelia: phelia
pamela: pam
penelope: penny
priscilla: cilla
rafael: rafa
raymond: ray
reginald: reggie reg
ricardo: rick ricky
richard: richie
roberta: bobbie
roberto: beto bob
rodrigo: rigo
ronaldo: ron
rosalind: ros roz
rosalinda: rosa linda
sebastian: seb bastian
sofia: sophie
sophia: sophie
stanley: stan
sylvester: sly
teresa: terry tess tessa
theresa: terry tess tessa
thaddeus: thad
tobias: toby
tyler: ty
vanessa: nessa
vicente: chente
victor: vic
wilfred: fred will
wilhelmina: mina willa
yolanda: yoli
zachariah: zach zack
`;

function buildAliasIndex(text: string): Map<string, string[]> {
  const index = new Map<string, string[]>();
  const add = (alias: string, formal: string) => {
    const list = index.get(alias);
    if (!list) index.set(alias, [formal]);
    else if (!list.includes(formal)) list.push(formal);
  };
  for (const line of text.split('\n')) {
    const [formal, aliases] = line.split(':');
    if (!formal || aliases === undefined) continue;
    const name = formal.trim();
    add(name, name);
    for (const alias of aliases.trim().split(/\s+/)) if (alias) add(alias, name);
  }
  for (const list of index.values()) list.sort();
  return index;
}

const ALIAS_INDEX = buildAliasIndex(NICKNAME_GROUPS);

/**
 * The formal names a given-name token may stand for ("bill" -> ["william"], "chris" -> ["christina",
 * "christine", "christopher"]); a name outside the table stands for itself.
 */
export function formalNamesOf(token: string): string[] {
  return ALIAS_INDEX.get(token) ?? [token];
}

/** Whether two given-name tokens can name the same person through the nickname table. */
export function areNicknames(a: string, b: string): boolean {
  if (a === b) return true;
  const fa = ALIAS_INDEX.get(a);
  const fb = ALIAS_INDEX.get(b);
  if (!fa || !fb) return false;
  for (const x of fa) if (fb.includes(x)) return true;
  return false;
}
