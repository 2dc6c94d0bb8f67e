// Places for the synthetic registry: US cities with their state, the first three digits of their ZIP codes
// and their telephone area codes, weighted roughly by population; street names and suffixes. Compiled by hand.
import { type Rng, WeightedTable } from './prng.ts';

/** A city a household can live in. `zip3` and `areaCodes` keep ZIPs and phones consistent with the city. */
export interface City {
  readonly name: string;
  readonly state: string;
  readonly zip3: string;
  readonly areaCodes: readonly string[];
}

// name|state|zip3|area codes|weight (about the population in tens of thousands)
const CITY_ROWS = `
New York|NY|100|212 646 917|160;Brooklyn|NY|112|718 347 929|260;Bronx|NY|104|718 347|140;Los Angeles|CA|900|213 323 310|390;
Chicago|IL|606|312 773 872|270;Houston|TX|770|713 281 832|230;Phoenix|AZ|850|602 480 623|160;Philadelphia|PA|191|215 267|155;
San Antonio|TX|782|210 726|150;San Diego|CA|921|619 858|140;Dallas|TX|752|214 469 972|130;San Jose|CA|951|408 669|100;
Austin|TX|787|512 737|96;Jacksonville|FL|322|904|95;Fort Worth|TX|761|817 682|92;Columbus|OH|432|614 380|90;
Charlotte|NC|282|704 980|87;Indianapolis|IN|462|317 463|88;San Francisco|CA|941|415 628|81;Seattle|WA|981|206|74;
Denver|CO|802|303 720|71;Washington|DC|200|202|69;Boston|MA|021|617 857|65;El Paso|TX|799|915|68;Nashville|TN|372|615 629|69;
Detroit|MI|482|313|63;Oklahoma City|OK|731|405|68;Portland|OR|972|503 971|65;Las Vegas|NV|891|702 725|64;Memphis|TN|381|901|63;
Louisville|KY|402|502|62;Baltimore|MD|212|410 443|58;Milwaukee|WI|532|414|57;Albuquerque|NM|871|505|56;Tucson|AZ|857|520|54;
Fresno|CA|937|559|54;Sacramento|CA|958|916 279|52;Kansas City|MO|641|816|51;Mesa|AZ|852|480|50;Atlanta|GA|303|404 470 678|50;
Omaha|NE|681|402 531|48;Colorado Springs|CO|809|719|48;Raleigh|NC|276|919 984|47;Miami|FL|331|305 786|44;
Minneapolis|MN|554|612|43;Tulsa|OK|741|918|41;Wichita|KS|672|316|40;New Orleans|LA|701|504|38;Arlington|TX|760|817 682|39;
Cleveland|OH|441|216|37;Tampa|FL|336|813|39;Honolulu|HI|968|808|35;Aurora|CO|800|303 720|39;Anaheim|CA|928|714|35;
Pittsburgh|PA|152|412|30;Cincinnati|OH|452|513|31;St. Louis|MO|631|314|30;Orlando|FL|328|407 689|31;Buffalo|NY|142|716|28;
Saint Paul|MN|551|651|31;Lincoln|NE|685|402|29;Greensboro|NC|274|336|30;Henderson|NV|890|702|32;Newark|NJ|071|973 862|31;
Jersey City|NJ|073|201 551|29;Toledo|OH|436|419|27;Lubbock|TX|794|806|26;Laredo|TX|780|956|26;Madison|WI|537|608|27;
Durham|NC|277|919|29;Chandler|AZ|852|480|28;Boise|ID|837|208|24;Reno|NV|895|775|27;Norfolk|VA|235|757|24;
Richmond|VA|232|804|23;Baton Rouge|LA|708|225|22;Spokane|WA|992|509|23;Des Moines|IA|503|515|21;Birmingham|AL|352|205|20;
Rochester|NY|146|585|21;Salt Lake City|UT|841|801 385|20;Grand Rapids|MI|495|616|20;Tacoma|WA|984|253|22;
Fort Wayne|IN|468|260|26;Little Rock|AR|722|501|20;Akron|OH|443|330 234|19;Knoxville|TN|379|865|19;Providence|RI|029|401|19;
Chattanooga|TN|374|423|18;Worcester|MA|016|508 774|20;Springfield|MO|658|417|17;Springfield|IL|627|217|11;
Springfield|MA|011|413|15;Columbia|SC|292|803 839|14;Savannah|GA|314|912|15;Syracuse|NY|132|315 680|14;Dayton|OH|454|937|14;
Bakersfield|CA|933|661|40;Corpus Christi|TX|784|361|32;Lexington|KY|405|859|32;Anchorage|AK|995|907|29;
Jackson|MS|392|601 769|15;Hartford|CT|061|860 959|12;Charleston|SC|294|843 854|15;Wilmington|DE|198|302|7;
Manchester|NH|031|603|12;Portland|ME|041|207|7;Burlington|VT|054|802|5;Billings|MT|591|406|12;Fargo|ND|581|701|13;
Sioux Falls|SD|571|605|20;Cheyenne|WY|820|307|7;Santa Fe|NM|875|505|9;Augusta|GA|309|706 762|20;Mobile|AL|366|251|19;
Shreveport|LA|711|318|18;Erie|PA|165|814|9;Scranton|PA|185|570|8;Allentown|PA|181|610 484|12;Peoria|IL|616|309|11;
Rockford|IL|611|815 779|15;Evansville|IN|477|812 930|12;South Bend|IN|466|574|10;Ann Arbor|MI|481|734|12;Flint|MI|485|810|8;
Lansing|MI|489|517|11;Green Bay|WI|543|920|11;Duluth|MN|558|218|9;Cedar Rapids|IA|524|319|14;Topeka|KS|666|785|13;
Amarillo|TX|791|806|20;Waco|TX|767|254|14;Abilene|TX|796|325|13;Tyler|TX|757|903 430|11;McAllen|TX|785|956|14;
Pensacola|FL|325|850|5;Tallahassee|FL|323|850|20;Gainesville|FL|326|352|14;Fort Myers|FL|339|239|9;Ocala|FL|344|352|6;
Asheville|NC|288|828|9;Wilmington|NC|284|910|12;Roanoke|VA|240|540|10;Charleston|WV|253|304|5;Huntington|WV|257|304|5;
Eugene|OR|974|541 458|18;Salem|OR|973|503 971|18;Yakima|WA|989|509|10;Provo|UT|846|801 385|12;Flagstaff|AZ|860|928|8;
Pueblo|CO|810|719|11;Modesto|CA|953|209|22;Stockton|CA|952|209|32;Riverside|CA|925|951|31;Oakland|CA|946|510 341|43;
Santa Ana|CA|927|714 657|31;Long Beach|CA|908|562|46;Irvine|CA|926|949|31;Salinas|CA|939|831|16;Redding|CA|960|530|9;
Hilo|HI|967|808|5;Fairbanks|AK|997|907|3;Bangor|ME|044|207|3;Rutland|VT|057|802|2;Concord|NH|033|603|4;New Haven|CT|065|203 475|13;
Stamford|CT|069|203 475|13;Paterson|NJ|075|973 862|16;Trenton|NJ|086|609 640|9;Albany|NY|122|518 838|10;Yonkers|NY|107|914|21`;

const cities: City[] = [];
const cityWeights: number[] = [];
for (const row of CITY_ROWS.split(';')) {
  const [name, state, zip3, codes, weight] = row.trim().split('|');
  if (!name || !state || !zip3 || !codes || !weight) throw new Error('malformed city row in places.ts');
  cities.push({ name, state, zip3, areaCodes: codes.split(' ') });
  cityWeights.push(Number(weight));
}
const cityTable = new WeightedTable(cities, cityWeights);

/** A city drawn by population. */
export function drawCity(rng: Rng): City {
  return cityTable.sample(rng);
}

const STREET_NAMES = `Main,Oak,Pine,Maple,Cedar,Elm,Washington,Lake,Hill,Park,Walnut,Sunset,Lincoln,Jackson,Church,River,
Highland,Spring,Ridge,Willow,Meadow,Forest,Jefferson,Madison,Franklin,Center,Chestnut,Mill,Union,Prospect,Cherry,
Dogwood,Magnolia,Hickory,Sycamore,Birch,Aspen,Poplar,Laurel,Holly,Spruce,Valley,Sunrise,Mountain View,Lakeview,
Fairview,Broad,Market,High,Water,School,Green,Adams,Monroe,Grant,Kennedy,King,Martin Luther King Jr,Cleveland,
Harrison,Wilson,Taylor,Pleasant,Bay,Beach,Canyon,Mesa,Desert,Pecan,Palm,Orange,Vine,Rose,Sunflower,Bluebonnet,
Country Club,College,University,Academy,Heritage,Colonial,Windsor,Victoria,Kingston,Cambridge,Oxford,Hampton,
Brookside,Creekside,Fox Run,Deer Park,Eagle,Hawk,Quail,Cardinal,Robin,Mockingbird,Bridge,Railroad,Depot,
Commerce,Garden,Orchard,Vineyard,Woodland,Pinecrest,Oakwood,Elmwood,Greenwood,Westwood,Lakewood,Briarwood,
Rolling Hills,Timber,Stone,Granite,Ivy,Peachtree,Sequoia,Juniper,Cottonwood,Mulberry,Hawthorne,Lexington,
Concord,Liberty,Independence,Patriot,Revere,Hamilton,Jay,Bradford,Ashford,Sheffield,Winchester,Stratford,
1st,2nd,3rd,4th,5th,6th,7th,8th,9th,10th,11th,12th,14th,15th,16th,18th,21st,23rd,32nd,42nd`
  .split(',')
  .map((name) => name.trim());

/** Street suffixes: the USPS abbreviation, the full word, and how often each occurs. */
export const STREET_SUFFIXES: ReadonlyArray<readonly [string, string, number]> = [
  ['St', 'Street', 30],
  ['Ave', 'Avenue', 18],
  ['Rd', 'Road', 12],
  ['Dr', 'Drive', 12],
  ['Ln', 'Lane', 7],
  ['Ct', 'Court', 5],
  ['Blvd', 'Boulevard', 4],
  ['Way', 'Way', 4],
  ['Pl', 'Place', 3],
  ['Cir', 'Circle', 2],
  ['Ter', 'Terrace', 1],
  ['Pkwy', 'Parkway', 1],
  ['Trl', 'Trail', 1],
];
const suffixTable = WeightedTable.of(STREET_SUFFIXES.map((suffix) => [suffix, suffix[2]] as const));

/** Directional prefixes: abbreviation and full word. */
export const DIRECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['N', 'North'],
  ['S', 'South'],
  ['E', 'East'],
  ['W', 'West'],
];

/** A street address as a household holds it, before any source formats it. */
export interface Street {
  readonly number: string;
  readonly direction: readonly [string, string] | null;
  readonly name: string;
  readonly suffix: readonly [string, string, number];
  readonly unit: string;
}

/** A street address; about a quarter are apartments. */
export function drawStreet(rng: Rng): Street {
  const digits = rng.chance(0.15) ? rng.int(1, 99) : rng.chance(0.7) ? rng.int(100, 9999) : rng.int(10000, 29999);
  const apartment = rng.chance(0.25);
  const unit = !apartment
    ? ''
    : rng.chance(0.5)
      ? String(rng.int(1, 40) * (rng.chance(0.5) ? 100 : 1) + (rng.chance(0.5) ? rng.int(0, 20) : 0))
      : `${rng.int(1, 12)}${rng.pick(['A', 'B', 'C', 'D', 'E', 'F'])}`;
  return {
    number: String(digits),
    direction: rng.chance(0.2) ? rng.pick(DIRECTIONS) : null,
    name: rng.pick(STREET_NAMES),
    suffix: suffixTable.sample(rng),
    unit,
  };
}

/** Domains for synthetic e-mail addresses. Reserved or invented names, so no address can reach a real mailbox. */
const EMAIL_DOMAINS = WeightedTable.of<string>([
  ['mail.example', 40],
  ['inbox.example', 16],
  ['webmail.example', 10],
  ['post.example', 9],
  ['example.com', 8],
  ['example.net', 6],
  ['example.org', 4],
  ['homenet.example', 4],
  ['cable.example', 3],
]);

/** An e-mail domain by popularity. */
export function drawEmailDomain(rng: Rng): string {
  return EMAIL_DOMAINS.sample(rng);
}
