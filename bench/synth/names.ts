// Name lists for the synthetic registry. Compiled by hand for this project: US-style names in rough order of
// popularity (most common first), not copied from any dataset. Weights come from the rank (a Zipf-like curve),
// and a syllable generator adds a long tail of rare names so that name frequencies span several orders of
// magnitude, as in a real registry (where "Smith" is about 1 in 120 people and most surnames are rare).
import { type Rng, WeightedTable } from './prng.ts';

/** Splits syllables, keeping empty entries: an empty middle syllable is a deliberate, weighted choice. */
const syllables = (text: string): string[] => text.split(',');

const list = (text: string): string[] =>
  text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);

/** Surnames, most common first. Includes apostrophes, prefixes and spaces on purpose (O'Brien, De La Cruz). */
const SURNAMES = list(`
Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Hernandez,Lopez,Gonzalez,Wilson,
Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,Perez,Thompson,White,Harris,Sanchez,Clark,Ramirez,Lewis,
Robinson,Walker,Young,Allen,King,Wright,Scott,Torres,Nguyen,Hill,Flores,Green,Adams,Nelson,Baker,Hall,Rivera,
Campbell,Mitchell,Carter,Roberts,Gomez,Phillips,Evans,Turner,Diaz,Parker,Cruz,Edwards,Collins,Reyes,Stewart,
Morris,Morales,Murphy,Cook,Rogers,Gutierrez,Ortiz,Morgan,Cooper,Peterson,Bailey,Reed,Kelly,Howard,Ramos,Kim,
Cox,Ward,Richardson,Watson,Brooks,Chavez,Wood,James,Bennett,Gray,Mendoza,Ruiz,Hughes,Price,Alvarez,Castillo,
Sanders,Patel,Myers,Long,Ross,Foster,Jimenez,Powell,Jenkins,Perry,Russell,Sullivan,Bell,Coleman,Butler,
Henderson,Barnes,Gonzales,Fisher,Vasquez,Simmons,Romero,Jordan,Patterson,Alexander,Hamilton,Graham,Reynolds,
Griffin,Wallace,Moreno,West,Cole,Hayes,Bryant,Herrera,Gibson,Ellis,Tran,Medina,Aguilar,Stevens,Murray,Ford,
Castro,Marshall,Owens,Harrison,Fernandez,McDonald,Woods,Washington,Kennedy,Wells,Vargas,Henry,Chen,Freeman,
Webb,Tucker,Guzman,Burns,Crawford,Olson,Simpson,Porter,Hunter,Gordon,Mendez,Silva,Shaw,Snyder,Mason,Dixon,
Munoz,Hunt,Hicks,Holmes,Palmer,Wagner,Black,Robertson,Boyd,Rose,Stone,Salazar,Fox,Warren,Mills,Meyer,Rice,
Schmidt,Garza,Daniels,Ferguson,Nichols,Stephens,Soto,Weaver,Ryan,Gardner,Payne,Grant,Dunn,Kelley,Spencer,
Hawkins,Arnold,Pierce,Vazquez,Hansen,Peters,Santos,Hart,Bradley,Knight,Elliott,Cunningham,Duncan,Armstrong,
Hudson,Carroll,Lane,Riley,Andrews,Alvarado,Ray,Delgado,Berry,Perkins,Hoffman,Johnston,Matthews,Pena,Richards,
Contreras,Willis,Carpenter,Lawrence,Sandoval,Guerrero,George,Chapman,Rios,Estrada,Ortega,Watkins,Greene,
Nunez,Wheeler,Valdez,Harper,Burke,Larson,Santiago,Maldonado,Morrison,Franklin,Carlson,Austin,Dominguez,Carr,
Lawson,Jacobs,O'Brien,Lynch,Singh,Vega,Bishop,Montgomery,Oliver,Jensen,Harvey,Williamson,Gilbert,Dean,Sims,
Espinoza,Howell,Li,Wong,Reid,Hanson,Le,McCoy,Garrett,Burton,Fuller,Wang,Weber,Welch,Rojas,Lucas,Marquez,
Fields,Park,Yang,Little,Banks,Padilla,Day,Walsh,Bowman,Schultz,Luna,Fowler,Mejia,Davidson,Acosta,Brewer,May,
Holland,Juarez,Newman,Pearson,Curtis,Cortez,Douglas,Schneider,Joseph,Barrett,Navarro,Figueroa,Keller,Avila,
Wade,Molina,Stanley,Hopkins,Campos,Barnett,Bates,Chambers,Caldwell,Beck,Lambert,Miranda,Byrd,Craig,Ayala,
Lowe,Frazier,Powers,Neal,Leonard,Gregory,Carrillo,Sutton,Fleming,Rhodes,Shelton,Schwartz,Norris,Jennings,
Watts,Duran,Walters,Cohen,McDaniel,Moran,Parks,Steele,Vaughn,Becker,Holt,DeLeon,Barker,Terry,Hale,Leon,
Benson,Haynes,Horton,Miles,Lyons,Pham,Graves,Bush,Thornton,Wolfe,Warner,Cabrera,McKinney,Mann,Zimmerman,
Dawson,Lara,Fletcher,Page,McCarthy,Love,Robles,Cervantes,Solis,Erickson,Reeves,Chang,Klein,Salinas,Fuentes,
Baldwin,Daniel,Simon,Velasquez,Hardy,Higgins,Aguirre,Lin,Cummings,Chandler,Sharp,Barber,Bowen,Ochoa,Dennis,
Robbins,Liu,Ramsey,Francis,Griffith,Paul,Blair,O'Connor,Cardenas,Pacheco,Cross,Calderon,Quinn,Moss,Swanson,
Chan,Rivas,Khan,Rodgers,Serrano,Fitzgerald,Rosales,Stevenson,Christensen,Manning,Gill,Curry,McLaughlin,
Harmon,McGee,Gross,Doyle,Garner,Newton,Burgess,Reese,Walton,Blake,Trujillo,Adkins,Brady,Goodman,Roman,Webster,
Goodwin,Fischer,Huang,Potter,Delacruz,Montoya,Todd,Wu,Hines,Mullins,Castaneda,Malone,Cannon,Tate,Mack,Sherman,
Hubbard,Hodges,Zhang,Guerra,Wolf,Valencia,Saunders,Franco,Rowe,Gallagher,Farmer,Hammond,Hampton,Townsend,
Ingram,Wise,Gallegos,Clarke,Barton,Schroeder,Maxwell,Waters,Logan,Camacho,Strickland,Norman,Person,Colon,
Parsons,Frank,Harrington,Glover,Osborne,Buchanan,Casey,Floyd,Patton,Ibarra,Ball,Tyler,Suarez,Bowers,Orozco,
Salas,Cobb,Gibbs,Andrade,Bauer,Conner,Moody,Escobar,McGuire,Lloyd,Mueller,Hartman,French,Kramer,McBride,Pope,
Lindsey,Velazquez,Norton,McCormick,Sparks,Flynn,Yates,Hogan,Marsh,Macias,Villanueva,Zamora,Pratt,Stokes,Owen,
Ballard,Lang,Brock,Villarreal,Charles,Drake,Barrera,Cain,Patrick,Pineda,Burnett,Mercado,Santana,Shepherd,
Bautista,Ali,Shaffer,Lamb,Trevino,McKenzie,Hess,Olsen,Cochran,Morton,Nash,Wilkins,Petersen,Briggs,Shah,
Roth,Nicholson,Holloway,Lozano,Rangel,Flowers,Hoover,Short,Arias,Mora,Valenzuela,Bryan,Meyers,Weiss,Underwood,
Bass,Greer,Summers,Houston,Carson,Morrow,Clayton,Whitaker,Decker,Yoder,Collier,Zuniga,Carey,Wilcox,Melendez,
Poole,Roberson,Larsen,Conley,Davenport,Copeland,Massey,Lam,Huff,Rocha,Cameron,Jefferson,Hood,Monroe,Anthony,
Pittman,Huynh,Randall,Singleton,Kirk,Combs,Mathis,Christian,Skinner,Bradford,Richard,Galvan,Wall,Boone,Kirby,
Wilkinson,Bridges,Bruce,Atkinson,Velez,Meza,Roy,Vincent,York,Hodge,Villa,Abbott,Allison,Tapia,Gates,Chase,
Sosa,Sweeney,Farrell,Wyatt,Dalton,Horn,Barron,Phelps,Yu,Dickerson,Heath,Foley,Atkins,Mathews,Bonilla,Acevedo,
Benitez,Zavala,Hensley,Glenn,Cisneros,Harrell,Shields,Rubio,Choi,Huffman,Boyer,Garrison,Arroyo,Bond,Kane,
Hancock,Callahan,Dillon,Cline,Wiggins,Grimes,Arellano,Melton,O'Neill,Savage,Ho,Beltran,Pitts,Parrish,Ponce,
Rich,Booth,Koch,Golden,Ware,Brennan,McDowell,Marks,Cantu,Humphrey,Baxter,Sawyer,Clay,Tanner,Hutchinson,Kaur,
Berg,Wiley,Gilmore,Russo,Villegas,Hobbs,Keith,Wilkerson,Ahmed,Beard,McClain,Montes,Mata,Rosario,Vang,Walter,
Henson,O'Neal,Mosley,McClure,Beasley,Stephenson,Snow,Huerta,Preston,Vance,Barry,Johns,Eaton,Blackwell,Dyer,
Prince,MacDonald,Solomon,Guevara,Stafford,English,Hurst,Woodard,Cortes,Shannon,Kemp,Nolan,McCullough,Merritt,
Murillo,Moon,Salgado,Strong,Kline,Cordova,Barajas,Roach,Rosas,Winters,Jacobson,Lester,Knox,Bullock,Kerr,
Leach,Meadows,Davila,Orr,Whitehead,Pruitt,Kent,Conway,McKee,Barr,David,Dejesus,Marin,Berger,McIntyre,Blankenship,
Gaines,Palacios,Cuevas,Bartlett,Durham,Dorsey,McCall,O'Donnell,Stein,Browning,Stout,Lowery,Sloan,McLean,Hendricks,
Calhoun,Sexton,Chung,Gentry,Hull,Duarte,Ellison,Nielsen,Gillespie,Buck,Middleton,Sellers,Leblanc,Esparza,Hardin,
Bradshaw,McIntosh,Howe,Livingston,Frost,Glass,Morse,Knapp,Herman,Stark,Bravo,Noble,Spears,Weeks,Corona,Frederick,
Buckley,McFarland,Hebert,Enriquez,Hickman,Quintero,Randolph,Schaefer,Walls,Trejo,House,Reilly,Pennington,Michael,
Conrad,Giles,Benjamin,Crosby,Fitzpatrick,Donovan,Mays,Mahoney,Valentine,Raymond,Medrano,Hahn,McMillan,Small,
Bentley,Felix,Peck,Lucero,Boyle,Hanna,Pace,Rush,Hurley,Harding,McConnell,Bernal,Nava,Ayers,Everett,Ventura,
Avery,Pugh,Mayer,Bender,Shepard,McMahon,Landry,Case,Sampson,Moses,Magana,Blackburn,Dunlap,Gould,Duffy,Vaughan,
Herring,McKay,Espinosa,Rivers,Farley,Bernard,Ashley,Friedman,Potts,Truong,Costa,Correa,Blevins,Nixon,Clements,
Fry,Delarosa,Best,Benton,Lugo,Portillo,Dougherty,Crane,Haley,Phan,Villalobos,Blanchard,Horne,Finley,Quintana,
Lynn,Esquivel,Bean,Dodson,Mullen,Xiong,Hayden,Cano,Levy,Huber,Richmond,Moyer,Lim,Frye,Sheppard,McCarty,Avalos,
Booker,Waller,Parra,Woodward,Jaramillo,Krueger,Rasmussen,Brandt,Peralta,Donaldson,Stuart,Faulkner,Maynard,
Galindo,Coffey,Estes,Sanford,Burch,Maddox,Vo,O'Connell,Vu,Andersen,Spence,McPherson,Church,Schmitt,Stanton,
Leal,Cherry,Compton,Dudley,Sierra,Pollard,Alfaro,Hester,Proctor,Lu,Hinton,Novak,Good,Madden,McCann,Terrell,
Jarvis,Dickson,Reyna,Cantrell,Mayo,Branch,Hendrix,Rollins,Rowland,Whitney,Duke,Odom,Daugherty,Travis,Tang,
Archer,Dang,Bui,Do,Kowalski,Nowak,Wisniewski,Romano,Esposito,Gupta,Sharma,Tanaka,Yamamoto,Nakamura,Goldberg,
Katz,Johansson,Papadopoulos,Ivanov,Okafor,Adeyemi,Mensah,Baptiste,Pierre,Jean-Baptiste,De La Cruz,Del Rosario,
Van Dyke,St. John,D'Angelo,Dos Santos,Van der Berg,De Jesus,La Rosa,MacKenzie,Ng,Xu,Zhou,Kang,Cho,Yoon,Hussain`);

/** Given names by sex and era. The "classic" lists suit people born before ~1970, the "modern" ones after ~2000. */
const MALE_CLASSIC = list(`
James,John,Robert,Michael,William,David,Richard,Charles,Joseph,Thomas,Christopher,Daniel,Paul,Mark,Donald,
George,Kenneth,Steven,Edward,Brian,Ronald,Anthony,Kevin,Jason,Matthew,Gary,Timothy,Jose,Larry,Jeffrey,Frank,
Scott,Eric,Stephen,Andrew,Raymond,Gregory,Joshua,Jerry,Dennis,Walter,Patrick,Peter,Harold,Douglas,Henry,Carl,
Arthur,Ryan,Roger,Joe,Juan,Jack,Albert,Jonathan,Justin,Terry,Gerald,Keith,Samuel,Willie,Ralph,Lawrence,
Nicholas,Roy,Benjamin,Bruce,Brandon,Adam,Harry,Fred,Wayne,Billy,Steve,Louis,Jeremy,Aaron,Randy,Howard,Eugene,
Carlos,Russell,Bobby,Victor,Martin,Ernest,Phillip,Todd,Jesse,Craig,Alan,Shawn,Clarence,Sean,Philip,Chris,
Johnny,Earl,Jimmy,Antonio,Danny,Bryan,Tony,Luis,Mike,Stanley,Leonard,Nathan,Dale,Manuel,Rodney,Curtis,Norman,
Allen,Marvin,Vincent,Glenn,Jeffery,Travis,Jeff,Chad,Jacob,Lee,Melvin,Alfred,Kyle,Francis,Bradley,Jesus,Herbert,
Frederick,Ray,Joel,Edwin,Don,Eddie,Ricky,Troy,Randall,Barry,Alexander,Bernard,Mario,Leroy,Francisco,Marcus,
Micheal,Theodore,Clifford,Miguel,Oscar,Jay,Jim,Tom,Calvin,Alex,Jon,Ronnie,Bill,Lloyd,Tommy,Leon,Derek,Warren,
Darrell,Jerome,Floyd,Leo,Alvin,Tim,Wesley,Gordon,Dean,Greg,Jorge,Dustin,Pedro,Derrick,Dan,Lewis,Zachary,Corey,
Herman,Maurice,Vernon,Roberto,Clyde,Glen,Hector,Shane,Ricardo,Sam,Rick,Lester,Brent,Ramon,Charlie,Tyler,
Gilbert,Gene,Marc,Reginald,Ruben,Brett,Angel,Nathaniel,Rafael,Leslie,Edgar,Milton,Raul,Ben,Chester,Cecil,
Duane,Franklin,Andre,Elmer,Brad,Gabriel,Ron,Mitchell,Roland,Arnold,Harvey,Jared,Adrian,Karl,Cory,Claude,Erik,
Darryl,Jamie,Neil,Jessie,Christian,Javier,Fernando,Clinton,Ted,Mathew,Tyrone,Darren,Lonnie,Lance,Cody,Julio,
Kelly,Kurt,Allan,Nelson,Guy,Clayton,Hugh,Max,Dwayne,Dwight,Armando,Felix,Jimmie,Everett,Jordan,Ian,Wallace,
Ken,Bob,Jaime,Casey,Alfredo,Alberto,Dave,Ivan,Johnnie,Sidney,Byron,Julian,Isaac,Morris,Clifton,Willard,Daryl,
Ross,Virgil,Andy,Marshall,Salvador,Perry,Kirk,Sergio,Marion,Tracy,Seth,Kent,Terrance,Rene,Eduardo,Terrence,
Enrique,Freddie,Wade,Minh,Wei,Hung,Tuan,Raj,Sanjay,Mohammed,Ahmed,Hiroshi,Jin,Sung,Vijay,Omar,Abdul`);

const MALE_MODERN = list(`
Liam,Noah,Michael,Jacob,William,Ethan,James,Alexander,Daniel,Elijah,Benjamin,Logan,Aiden,Jayden,Matthew,
Jackson,David,Lucas,Joseph,Anthony,Andrew,Samuel,Gabriel,Joshua,John,Carter,Luke,Dylan,Christopher,Isaac,
Oliver,Henry,Sebastian,Caleb,Owen,Ryan,Nathan,Wyatt,Hunter,Jack,Christian,Landon,Jonathan,Levi,Jaxon,Julian,
Isaiah,Eli,Aaron,Charles,Connor,Cameron,Thomas,Jordan,Jeremiah,Nicholas,Evan,Adrian,Gavin,Robert,Brayden,
Grayson,Josiah,Colton,Austin,Angel,Jace,Dominic,Kevin,Brandon,Tyler,Parker,Ayden,Jason,Jose,Ian,Chase,Adam,
Hudson,Nolan,Zachary,Easton,Blake,Jaxson,Cooper,Lincoln,Xavier,Bentley,Kayden,Carson,Brody,Asher,Nathaniel,
Ryder,Justin,Leo,Juan,Luis,Camden,Tristan,Damian,Elias,Vincent,Jase,Mason,Mateo,Ezra,Theodore,Miles,Silas,
Declan,Everett,Kai,Roman,Santiago,Axel,Maverick,Jameson,Greyson,Brooks,Wesley,Emmanuel,Jaylen,Jalen,Bryson,
Diego,Carlos,Jesus,Devin,Trevor,Cody,Dakota,Cole,Maddox,Micah,Kaden,Jeremy,Giovanni,Alex,Bryce,Ashton,Preston,
Kyle,Eric,Brian,Steven,Timothy,Richard,Marcus,Zion,Malachi,Rowan,Emmett,Sawyer,Beau,Finn,Archer,Jude,Knox,
Rhett,Beckett,Waylon,Tucker,Kingston,Legend,Amir,Omar,Muhammad,Ali,Arjun,Rohan,Aarav,Kenji,Minh,Khoa,Bao,
Andres,Alejandro,Javier,Miguel,Fernando,Rafael,Emiliano,Matias,Leonardo,Josue,Ricardo,Eduardo,Hector,Cristian,
Brendan,Aidan,Caden,Jayce,Paxton,Braxton,Ryker,Zane,Reid,Graham,Spencer,Garrett,Seth,Travis,Shane,Derek,Jared`);

const FEMALE_CLASSIC = list(`
Mary,Patricia,Linda,Barbara,Elizabeth,Jennifer,Maria,Susan,Margaret,Dorothy,Lisa,Nancy,Karen,Betty,Helen,
Sandra,Donna,Carol,Ruth,Sharon,Michelle,Laura,Sarah,Kimberly,Deborah,Jessica,Shirley,Cynthia,Angela,Melissa,
Brenda,Amy,Anna,Rebecca,Virginia,Kathleen,Pamela,Martha,Debra,Amanda,Stephanie,Carolyn,Christine,Marie,Janet,
Catherine,Frances,Ann,Joyce,Diane,Alice,Julie,Heather,Teresa,Doris,Gloria,Evelyn,Jean,Cheryl,Mildred,Katherine,
Joan,Ashley,Judith,Rose,Janice,Kelly,Nicole,Judy,Christina,Kathy,Theresa,Beverly,Denise,Tammy,Irene,Jane,Lori,
Rachel,Marilyn,Andrea,Kathryn,Louise,Sara,Anne,Jacqueline,Wanda,Bonnie,Julia,Ruby,Lois,Tina,Phyllis,Norma,
Paula,Diana,Annie,Lillian,Emily,Robin,Peggy,Crystal,Gladys,Rita,Dawn,Connie,Florence,Tracy,Edna,Tiffany,
Carmen,Rosa,Cindy,Grace,Wendy,Victoria,Edith,Kim,Sherry,Sylvia,Josephine,Thelma,Shannon,Sheila,Ethel,Ellen,
Elaine,Marjorie,Carrie,Charlotte,Monica,Esther,Pauline,Emma,Juanita,Anita,Rhonda,Hazel,Amber,Eva,Debbie,
April,Leslie,Clara,Lucille,Jamie,Joanne,Eleanor,Valerie,Danielle,Megan,Alicia,Suzanne,Michele,Gail,Bertha,
Darlene,Veronica,Jill,Erin,Geraldine,Lauren,Cathy,Joann,Lorraine,Lynn,Sally,Regina,Erica,Beatrice,Dolores,
Bernice,Audrey,Yvonne,Annette,June,Samantha,Marion,Dana,Stacy,Ana,Renee,Ida,Vivian,Roberta,Holly,Brittany,
Melanie,Loretta,Yolanda,Jeanette,Laurie,Katie,Kristen,Vanessa,Alma,Sue,Elsie,Beth,Jeanne,Vicki,Carla,Tara,
Rosemary,Eileen,Terri,Gertrude,Lucy,Tonya,Ella,Stacey,Wilma,Gina,Kristin,Jessie,Natalie,Agnes,Vera,Willie,
Charlene,Bessie,Delores,Melinda,Pearl,Arlene,Maureen,Colleen,Allison,Tamara,Joy,Georgia,Constance,Lillie,
Claudia,Jackie,Marcia,Tanya,Nellie,Minnie,Marlene,Heidi,Glenda,Lydia,Viola,Courtney,Marian,Stella,Caroline,
Dora,Jo,Vickie,Mattie,Terry,Maxine,Irma,Mabel,Marsha,Myrtle,Lena,Christy,Deanna,Patsy,Hilda,Gwendolyn,Jennie,
Nora,Margie,Nina,Cassandra,Leah,Penny,Kay,Priscilla,Naomi,Carole,Brandy,Olga,Billie,Dianne,Tracey,Leona,
Jenny,Felicia,Sonia,Miriam,Velma,Becky,Bobbie,Violet,Kristina,Toni,Misty,Mae,Shelly,Daisy,Ramona,Sherri,
Erika,Katrina,Claire,Guadalupe,Lupe,Mary Ann,Mary Jo,Linh,Mai,Mei,Priya,Fatima,Yuki,Soo,Aisha,Hoa`);

const FEMALE_MODERN = list(`
Emma,Olivia,Ava,Isabella,Sophia,Mia,Charlotte,Amelia,Harper,Evelyn,Abigail,Emily,Elizabeth,Madison,Ella,
Avery,Sofia,Camila,Aria,Scarlett,Victoria,Chloe,Grace,Luna,Penelope,Layla,Riley,Zoey,Nora,Lily,Eleanor,
Hannah,Lillian,Addison,Aubrey,Ellie,Stella,Natalie,Zoe,Leah,Hazel,Violet,Aurora,Savannah,Audrey,Brooklyn,
Bella,Claire,Skylar,Lucy,Paisley,Everly,Anna,Caroline,Nova,Genesis,Emilia,Kennedy,Samantha,Maya,Willow,
Kinsley,Naomi,Aaliyah,Elena,Sarah,Ariana,Allison,Gabriella,Alice,Madelyn,Cora,Ruby,Eva,Serenity,Autumn,
Adeline,Hailey,Gianna,Valentina,Isla,Eliana,Quinn,Nevaeh,Ivy,Sadie,Piper,Lydia,Alexa,Josephine,Emery,Julia,
Delilah,Arianna,Vivian,Kaylee,Sophie,Brielle,Madeline,Jessica,Ashley,Brittany,Amanda,Jennifer,Megan,Lauren,
Taylor,Kayla,Alexis,Destiny,Jasmine,Makayla,Alyssa,Kaitlyn,Brianna,Mackenzie,Jada,Ximena,Daniela,Valeria,
Jayla,Ayla,Kylie,Mya,Maria,Jocelyn,Khloe,Isabel,Kimberly,Gabrielle,Andrea,Mila,Harmony,Faith,Morgan,Sydney,
Trinity,Jordyn,Payton,Reagan,Rylee,Bailey,Ashlyn,Melanie,Katherine,Amaya,Lila,Athena,Jade,Londyn,Margaret,
Mariah,Molly,Nicole,Rachel,Rebecca,Stephanie,Vanessa,Angelina,Adriana,Fernanda,Guadalupe,Lucia,Mariana,
Esmeralda,Jazmin,Itzel,Fatima,Zara,Aanya,Priya,Mai,Linh,Hana,Yuna,Ananya,Imani,Aliyah,Makenna,Kendall,
Brooke,Paige,Hayden,Jillian,Sierra,Kendra,Erin,Haley,Kelsey,Shelby,Courtney,Caitlin,Amber,Danielle,Tiffany`);

/** Nicknames and short forms people give a clerk instead of their legal given name. */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  William: ['Bill', 'Will', 'Billy', 'Willie'],
  Robert: ['Bob', 'Rob', 'Bobby', 'Robbie'],
  Elizabeth: ['Liz', 'Beth', 'Betty', 'Eliza', 'Libby'],
  Katherine: ['Kate', 'Kathy', 'Katie'],
  Catherine: ['Cathy', 'Kate', 'Cate'],
  Kathryn: ['Kathy', 'Katie', 'Kate'],
  Kathleen: ['Kathy', 'Kate'],
  James: ['Jim', 'Jimmy', 'Jamie'],
  Margaret: ['Peggy', 'Maggie', 'Meg', 'Margie'],
  John: ['Jack', 'Johnny'],
  Richard: ['Rick', 'Dick', 'Rich', 'Richie'],
  Michael: ['Mike', 'Mikey'],
  Thomas: ['Tom', 'Tommy'],
  Joseph: ['Joe', 'Joey'],
  Charles: ['Charlie', 'Chuck'],
  Christopher: ['Chris'],
  Daniel: ['Dan', 'Danny'],
  Matthew: ['Matt'],
  Anthony: ['Tony'],
  Edward: ['Ed', 'Eddie', 'Ted'],
  Steven: ['Steve'],
  Stephen: ['Steve'],
  Andrew: ['Andy', 'Drew'],
  Joshua: ['Josh'],
  Kenneth: ['Ken', 'Kenny'],
  Benjamin: ['Ben', 'Benny'],
  Samuel: ['Sam', 'Sammy'],
  Alexander: ['Alex', 'Xander'],
  Nicholas: ['Nick', 'Nicky'],
  Jonathan: ['Jon'],
  Timothy: ['Tim', 'Timmy'],
  Patrick: ['Pat'],
  Gregory: ['Greg'],
  Jeffrey: ['Jeff'],
  Donald: ['Don', 'Donnie'],
  Ronald: ['Ron', 'Ronnie'],
  Raymond: ['Ray'],
  Gerald: ['Jerry'],
  Lawrence: ['Larry'],
  Zachary: ['Zach', 'Zack'],
  Theodore: ['Ted', 'Teddy', 'Theo'],
  Frederick: ['Fred', 'Freddie'],
  Albert: ['Al', 'Bert'],
  Jacob: ['Jake'],
  Nathan: ['Nate'],
  Nathaniel: ['Nate', 'Nat'],
  Douglas: ['Doug'],
  Phillip: ['Phil'],
  Philip: ['Phil'],
  Peter: ['Pete'],
  Harold: ['Hal', 'Harry'],
  Henry: ['Hank', 'Harry'],
  Francis: ['Frank'],
  Eugene: ['Gene'],
  Walter: ['Walt'],
  Vincent: ['Vince'],
  Leonard: ['Len', 'Lenny'],
  Victor: ['Vic'],
  Jennifer: ['Jen', 'Jenny'],
  Patricia: ['Pat', 'Patty', 'Trish'],
  Susan: ['Sue', 'Susie'],
  Deborah: ['Deb', 'Debbie'],
  Debra: ['Deb', 'Debbie'],
  Rebecca: ['Becky', 'Becca'],
  Dorothy: ['Dot', 'Dottie'],
  Barbara: ['Barb'],
  Jessica: ['Jess', 'Jessie'],
  Christine: ['Chris', 'Chrissy', 'Tina'],
  Christina: ['Chris', 'Tina'],
  Kimberly: ['Kim'],
  Pamela: ['Pam'],
  Cynthia: ['Cindy'],
  Samantha: ['Sam', 'Sammy'],
  Victoria: ['Vicky', 'Tori'],
  Abigail: ['Abby'],
  Alexandra: ['Alex', 'Lexi'],
  Alexis: ['Lexi'],
  Amanda: ['Mandy'],
  Stephanie: ['Steph'],
  Judith: ['Judy'],
  Theresa: ['Terry', 'Tess'],
  Teresa: ['Terry', 'Tess'],
  Jacqueline: ['Jackie'],
  Virginia: ['Ginny'],
  Frances: ['Fran'],
  Josephine: ['Jo', 'Josie'],
  Madison: ['Maddie'],
  Gabriella: ['Gabby'],
  Isabella: ['Bella', 'Izzy'],
  Olivia: ['Liv'],
  Sophia: ['Sophie'],
  Eleanor: ['Ellie', 'Nora'],
  Natalie: ['Nat'],
  Mary: ['Molly', 'Polly'],
  Dolores: ['Lola'],
  Sarah: ['Sally'],
  Allison: ['Allie'],
  Caroline: ['Carrie'],
  Carolyn: ['Carol'],
  Evelyn: ['Evie'],
  Penelope: ['Penny'],
  Lillian: ['Lily'],
  Gwendolyn: ['Gwen'],
  Valerie: ['Val'],
  Veronica: ['Ronnie'],
  Roberta: ['Bobbie'],
  Emily: ['Em', 'Emmy'],
  Madeline: ['Maddie'],
  Madelyn: ['Maddie'],
  Mackenzie: ['Kenzie'],
  Guadalupe: ['Lupe'],
  Francisco: ['Paco', 'Frank'],
  Jose: ['Pepe'],
  Jesus: ['Chuy'],
  Eduardo: ['Eddie'],
  Alejandro: ['Alex'],
  Mohammed: ['Mo'],
  Muhammad: ['Mo'],
};

/** Given names that twins are sometimes given: rhyming or near-identical pairs, the hardest look-alikes. */
export const TWIN_NAME_PAIRS: ReadonlyArray<readonly [string, 'M' | 'F', string, 'M' | 'F']> = [
  ['Jayden', 'M', 'Jaylen', 'M'],
  ['Aiden', 'M', 'Ayden', 'M'],
  ['Brandon', 'M', 'Brendan', 'M'],
  ['Ethan', 'M', 'Evan', 'M'],
  ['Caden', 'M', 'Kaden', 'M'],
  ['Landon', 'M', 'Logan', 'M'],
  ['Carson', 'M', 'Carter', 'M'],
  ['Jalen', 'M', 'Jaylen', 'M'],
  ['Mason', 'M', 'Madison', 'F'],
  ['Tyler', 'M', 'Taylor', 'F'],
  ['Daniel', 'M', 'Danielle', 'F'],
  ['Julian', 'M', 'Julia', 'F'],
  ['Oliver', 'M', 'Olivia', 'F'],
  ['Aaron', 'M', 'Erin', 'F'],
  ['Kyle', 'M', 'Kylie', 'F'],
  ['Ella', 'F', 'Emma', 'F'],
  ['Hailey', 'F', 'Bailey', 'F'],
  ['Mia', 'F', 'Maya', 'F'],
  ['Alyssa', 'F', 'Alexis', 'F'],
  ['Ava', 'F', 'Eva', 'F'],
  ['Kaylee', 'F', 'Kylie', 'F'],
  ['Brianna', 'F', 'Brielle', 'F'],
  ['Madelyn', 'F', 'Madison', 'F'],
  ['Lila', 'F', 'Lily', 'F'],
  ['Jada', 'F', 'Jayla', 'F'],
  ['Ashley', 'F', 'Ashlyn', 'F'],
  ['Mariah', 'F', 'Maria', 'F'],
];

/** Syllables for the long tail of rare surnames, grouped so that the results read like real families of names. */
const SURNAME_PATTERNS: ReadonlyArray<readonly [readonly string[], readonly string[], readonly string[]]> = [
  [
    syllables(
      'Ash,Brad,Crom,Dal,Ell,Fair,Hart,Kent,Lang,Mel,Pem,Rad,Stan,Thorn,Whit,Wick,Brum,Chad,Hol,Sher,Ald,Bram,' +
        'Cal,Dun,Elm,Fen,Gar,Hal,Kings,Lyn,Mar,Nor,Ock,Pen,Ral,Sand,Tal,Wal,Win,Yar',
    ),
    syllables(',,,,e,er,ing,en,s,ry'),
    syllables('worth,ley,ford,ton,well,by,field,wood,ham,more,ridge,stead,all,ington,cott,den,wick,bury,hurst,shaw'),
  ],
  [
    syllables(
      'Bor,Kra,Lis,Mal,Pol,Ryb,Sob,Wol,Zar,Kul,Dab,Gor,Jas,Mik,Pet,Sta,Grab,Kos,Lew,Mar,Bie,Chm,Dud,Fil,Glo,' +
        'Hor,Jan,Kow,Lub,Nied,Ost,Pap,Rad,Sad,Szym,Tom,Wit,Zaj,Kam,Bar',
    ),
    syllables(',,,o,e,an,in,ar,ow,el'),
    syllables('ski,sky,czyk,wicz,enko,ak,ek,ny,iak,owski,ewicz,chuk'),
  ],
  [
    syllables(
      'Bel,Car,Fer,Gal,Lom,Mar,Pel,Ros,Sal,Ver,Col,Den,Fra,Gian,Lu,Ric,Ten,Vit,Bon,Cap,Ang,Bru,Cas,Dom,Fab,' +
        'Gar,Iac,Lan,Mas,Nap,Orl,Pag,Rin,Sar,Tor,Val,Zan,Cec,Mor,Ser',
    ),
    syllables(',,,l,n,r,t,ic,ar,ell'),
    syllables('elli,ini,etti,one,ano,ucci,ola,ari,ino,esi,ardi,ello,occhi,ozzi'),
  ],
  [
    syllables(
      'Ben,Cas,Del,Esc,Gal,Lar,Men,Oroz,Pal,Quin,San,Tor,Val,Zam,Bar,Cam,Mon,Ped,Var,Av,Alv,Bus,Cer,Dur,Est,' +
        'Fig,Gam,Her,Ib,Jar,Lem,Mar,Nav,Ol,Ped,Riv,Sol,Tam,Ur,Vel',
    ),
    syllables(',,,a,e,i,o,ar,er,an'),
    syllables('avides,tero,gado,ona,zar,eda,illo,ente,ares,ez,iz,anda,uela,ano,ino'),
  ],
  [
    syllables(
      'Ack,Bau,Eck,Fisch,Hof,Kell,Lind,Rein,Schw,Stein,Wein,Zimm,Bren,Diet,Gut,Hel,Kirch,Lutz,Rit,Vog,Alt,Bech,' +
        'Dorn,Ehr,Frei,Gross,Haus,Jung,Kraus,Lang,Mohr,Neu,Ober,Pf,Roth,Sch,Thal,Ull,Wag,Zeh',
    ),
    syllables(',,,,e,en,el,er,ing,s'),
    syllables('ert,man,mann,berg,hardt,inger,ler,stadt,er,feld,meier,bach,dorf,hauer,wald'),
  ],
  [
    syllables("Mc,Mac,O'"),
    syllables(
      'Al,Bre,Car,Dow,Gil,Gra,Ken,Lau,Mah,Nal,Quil,Ter,Gow,Fad,Kin,Cull,Ard,Bay,Cor,' +
        'Dar,Eag,Fin,Gar,Hug,Kea,Lor,Man,Nul,Phe,Ran,Shan,Tav',
    ),
    syllables('ley,lan,nan,ell,rath,ghlin,on,ney,ty,ough,an,in,ane,ery,ish'),
  ],
  [
    syllables('Ade,Oke,Olu,Nwa,Oba,Ama,Eze,Ogun,Kwa,Ben,Aba,Chi,Ofo,Uche,Ile,Ako,Asa,Ibe,Oni,Efe'),
    syllables(',,,ni,ba,ke'),
    syllables('yemi,bayo,for,chukwu,ola,dele,nkwo,mensah,ji,wale,nna,tunde,kemi,dozie'),
  ],
];

const RARE_GIVEN: Record<'M' | 'F', readonly [readonly string[], readonly string[]]> = {
  M: [
    syllables('Ja,Ka,Bra,Da,Ma,Ra,Ta,Tre,Ke,Ty,Ry,La,Za,Cal,Mal,Jer,Dor,Bren,Cor,Lor'),
    syllables('den,don,ton,son,ric,ius,an,vin,ian,lan,o,rell,mon,quan,van'),
  ],
  F: [
    syllables('Ja,Ka,Bre,Da,Ma,Ra,Ta,Sha,Ke,Ty,Ry,La,Ni,Za,Ari,Mar,Jo,Kay,Bri,Lei'),
    syllables('lynn,lee,ley,na,nna,ra,ssa,ya,ah,elle,ette,ia,ina,nae,lani'),
  ],
};

/** Share of draws that come from the long generated tail rather than the hand-written lists. */
const RARE_SURNAME_SHARE = 0.45;
const RARE_GIVEN_SHARE = 0.08;

/** Zipf-like weights from rank; `offset` flattens the head so the first name is not absurdly dominant. */
function rankWeights(count: number, offset: number): number[] {
  return Array.from({ length: count }, (_, rank) => 1 / (rank + offset));
}

const surnameTable = new WeightedTable(SURNAMES, rankWeights(SURNAMES.length, 20));
const givenTables = {
  M: [
    new WeightedTable(MALE_CLASSIC, rankWeights(MALE_CLASSIC.length, 4)),
    new WeightedTable(MALE_MODERN, rankWeights(MALE_MODERN.length, 6)),
  ],
  F: [
    new WeightedTable(FEMALE_CLASSIC, rankWeights(FEMALE_CLASSIC.length, 4)),
    new WeightedTable(FEMALE_MODERN, rankWeights(FEMALE_MODERN.length, 6)),
  ],
} as const;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
}

/** A rare surname assembled from one of the syllable patterns (tens of thousands of distinct results). */
export function rareSurname(rng: Rng): string {
  const [starts, middles, ends] = rng.pick(SURNAME_PATTERNS);
  const start = rng.pick(starts);
  const tail = rng.pick(middles) + rng.pick(ends);
  // Irish prefixes keep the capital after them (McCarty, O'Dowell); other patterns are one word.
  if (start === 'Mc' || start === 'Mac' || start === "O'") return start + capitalise(tail);
  return capitalise(start + tail);
}

/** A surname drawn by frequency: common ones from the list, otherwise a rare generated one. */
export function drawSurname(rng: Rng): string {
  return rng.chance(RARE_SURNAME_SHARE) ? rareSurname(rng) : surnameTable.sample(rng);
}

/** A given name for the sex and birth year (name fashions change: Linda in 1950, Jayden in 2010). */
export function drawGivenName(rng: Rng, sex: 'M' | 'F', birthYear: number): string {
  if (rng.chance(RARE_GIVEN_SHARE)) {
    const [starts, ends] = RARE_GIVEN[sex];
    return capitalise(rng.pick(starts) + rng.pick(ends));
  }
  const modernShare = Math.min(1, Math.max(0, (birthYear - 1962) / 40));
  const [classic, modern] = givenTables[sex];
  return (rng.chance(modernShare) ? modern : classic).sample(rng);
}

/** Counts for the README and tests: how many distinct names the lists hold. */
export const NAME_LIST_SIZES = {
  surnames: SURNAMES.length,
  given: MALE_CLASSIC.length + MALE_MODERN.length + FEMALE_CLASSIC.length + FEMALE_MODERN.length,
  nicknameRoots: Object.keys(NICKNAMES).length,
};
