//! The word lists the generators draw from. Arrays (not slices) so that picking from them can
//! never hit an empty list: `pick` checks the length at compile time.

pub const ITALIAN_MALE: [&str; 26] = [
    "Marco",
    "Luca",
    "Giuseppe",
    "Francesco",
    "Alessandro",
    "Andrea",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Stefano",
    "Paolo",
    "Giovanni",
    "Roberto",
    "Antonio",
    "Simone",
    "Federico",
    "Riccardo",
    "Nicola",
    "Fabio",
    "Massimo",
    "Niccolò",
    "Tommaso",
    "Pietro",
    "Emanuele",
    "Gabriele",
    "Vittorio",
];

pub const ITALIAN_FEMALE: [&str; 26] = [
    "Giulia",
    "Francesca",
    "Chiara",
    "Sara",
    "Alessandra",
    "Martina",
    "Elena",
    "Valentina",
    "Federica",
    "Silvia",
    "Laura",
    "Anna",
    "Paola",
    "Elisa",
    "Beatrice",
    "Ilaria",
    "Sofia",
    "Aurora",
    "Camilla",
    "Roberta",
    "Lucia",
    "Caterina",
    "Benedetta",
    "Noemi",
    "Marta",
    "Cristina",
];

pub const ITALIAN_SURNAMES: [&str; 80] = [
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferri",
    "Fabbri",
    "Bianco",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
    "Morelli",
    "Amato",
    "Silvestri",
    "Mazza",
    "Testa",
    "Dell'Acqua",
    "Pellegrino",
    "Carbone",
    "Giuliani",
    "Benedetti",
    "Barone",
    "Caputo",
    "Montanari",
    "Guerra",
    "Palmieri",
    "Bernardi",
    "Fiore",
    "Brambilla",
    "Sartori",
    "Zanetti",
];

pub const ENGLISH_MALE: [&str; 16] = [
    "James", "Oliver", "William", "Thomas", "George", "Henry", "Edward", "Daniel", "Michael",
    "Robert", "David", "Richard", "Samuel", "Jack", "Harry", "Charles",
];

pub const ENGLISH_FEMALE: [&str; 16] = [
    "Emily",
    "Charlotte",
    "Sophie",
    "Olivia",
    "Amelia",
    "Jessica",
    "Hannah",
    "Eleanor",
    "Grace",
    "Lucy",
    "Elizabeth",
    "Sarah",
    "Rebecca",
    "Alice",
    "Emma",
    "Kate",
];

pub const ENGLISH_SURNAMES: [&str; 40] = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Clarke",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morgan",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Bennett",
    "Fletcher",
    "Whitfield",
    "Ashworth",
    "Hamilton",
    "Sinclair",
    "Campbell",
];

/// An Italian city: where contacts live and where Italians were born (codice fiscale).
#[derive(Debug, Clone, Copy)]
pub struct City {
    pub name: &'static str,
    pub province: &'static str,
    /// The lowest and highest postal code (CAP) of the city.
    pub cap: (u32, u32),
    /// Codice catastale, the birthplace part of a codice fiscale.
    pub cadastral: &'static str,
    /// Landline area code, with its leading 0.
    pub area_code: &'static str,
}

const fn city(
    name: &'static str,
    province: &'static str,
    cap: (u32, u32),
    cadastral: &'static str,
    area_code: &'static str,
) -> City {
    City {
        name,
        province,
        cap,
        cadastral,
        area_code,
    }
}

/// Milan first: the demo firm is there, so most of its contacts are too (see `pick_city`).
pub const CITIES: [City; 18] = [
    city("Milano", "MI", (20121, 20162), "F205", "02"),
    city("Roma", "RM", (118, 199), "H501", "06"),
    city("Torino", "TO", (10121, 10156), "L219", "011"),
    city("Napoli", "NA", (80121, 80147), "F839", "081"),
    city("Bologna", "BO", (40121, 40141), "A944", "051"),
    city("Firenze", "FI", (50121, 50145), "D612", "055"),
    city("Genova", "GE", (16121, 16167), "D969", "010"),
    city("Venezia", "VE", (30121, 30176), "L736", "041"),
    city("Verona", "VR", (37121, 37142), "L781", "045"),
    city("Padova", "PD", (35121, 35143), "G224", "049"),
    city("Bergamo", "BG", (24121, 24129), "A794", "035"),
    city("Brescia", "BS", (25121, 25136), "B157", "030"),
    city("Bari", "BA", (70121, 70132), "A662", "080"),
    city("Palermo", "PA", (90121, 90151), "G273", "091"),
    city("Catania", "CT", (95121, 95131), "C351", "095"),
    city("Monza", "MB", (20900, 20900), "F704", "039"),
    city("Como", "CO", (22100, 22100), "C933", "031"),
    city("Trieste", "TS", (34121, 34151), "L424", "040"),
];

/// Codici catastali of foreign countries (people with English names were mostly born abroad).
pub const FOREIGN_BIRTHPLACES: [&str; 5] = [
    "Z114", // United Kingdom
    "Z404", // United States
    "Z116", // Ireland
    "Z700", // Australia
    "Z401", // Canada
];

pub const STREETS: [&str; 24] = [
    "Via Roma",
    "Corso Buenos Aires",
    "Via Dante",
    "Piazza del Duomo",
    "Via Garibaldi",
    "Corso Vittorio Emanuele II",
    "Via Alessandro Manzoni",
    "Viale Monza",
    "Via Giuseppe Mazzini",
    "Via Cavour",
    "Via XX Settembre",
    "Corso Italia",
    "Via Giuseppe Verdi",
    "Via della Spiga",
    "Via Torino",
    "Corso di Porta Romana",
    "Via Solferino",
    "Viale Europa",
    "Via Nazionale",
    "Via San Marco",
    "Largo Augusto",
    "Via Fatebenefratelli",
    "Via Marsala",
    "Piazza della Repubblica",
];

pub const LONDON_STREETS: [&str; 8] = [
    "Fleet Street",
    "Chancery Lane",
    "Gray's Inn Road",
    "Holborn",
    "Cheapside",
    "Moorgate",
    "Bishopsgate",
    "Old Broad Street",
];

pub const LONDON_POSTCODES: [&str; 8] = [
    "EC4A 2DY", "WC2A 1JE", "WC1X 8HB", "EC1N 2HA", "EC2V 6AA", "EC2M 6TQ", "EC2N 4AY", "EC2N 1HN",
];

/// Business sectors and regional adjectives combine into names like "Meccanica Lombarda".
pub const SECTORS: [&str; 18] = [
    "Meccanica",
    "Tessitura",
    "Logistica",
    "Farmaceutica",
    "Costruzioni",
    "Immobiliare",
    "Alimentare",
    "Trasporti",
    "Edilizia",
    "Elettronica",
    "Vetreria",
    "Cartiera",
    "Impianti",
    "Serramenti",
    "Ceramiche",
    "Energia",
    "Software",
    "Distribuzione",
];

pub const REGIONAL: [&str; 16] = [
    "Lombarda",
    "Padana",
    "Brianzola",
    "Ambrosiana",
    "Veneta",
    "Emiliana",
    "Toscana",
    "Ligure",
    "Romana",
    "Partenopea",
    "Sabauda",
    "Adriatica",
    "Tirrenica",
    "Alpina",
    "Orobica",
    "Lariana",
];

pub const LEGAL_FORMS: [&str; 5] = ["S.r.l.", "S.p.A.", "S.r.l.", "S.n.c.", "S.a.s."];

pub const ENGLISH_COMPANY_WORDS: [&str; 12] = [
    "Northbridge",
    "Harbour Lane",
    "Bluewater",
    "Atlas",
    "Kingsgate",
    "Silverline",
    "Redwood",
    "Greenfield",
    "Highmoor",
    "Oakridge",
    "Westbury",
    "Crown Point",
];

pub const ENGLISH_COMPANY_KINDS: [&str; 8] = [
    "Capital Ltd",
    "Partners LLP",
    "Software Ltd",
    "Freight Ltd",
    "Holdings plc",
    "Trading Ltd",
    "Pharma Ltd",
    "Media Group Ltd",
];

/// Courts and public offices (category `court`): name, city index in `CITIES`, street.
pub const COURTS: [(&str, usize, &str); 10] = [
    ("Tribunale di Milano", 0, "Via Carlo Freguglia 1"),
    ("Corte d'Appello di Milano", 0, "Via Carlo Freguglia 1"),
    ("Giudice di Pace di Milano", 0, "Via Francesco Sforza 23"),
    ("TAR Lombardia", 0, "Via Filippo Corridoni 39"),
    ("Tribunale di Monza", 15, "Piazza Garibaldi 10"),
    ("Tribunale di Roma", 1, "Viale Giulio Cesare 54/b"),
    ("Tribunale di Torino", 2, "Corso Vittorio Emanuele II 130"),
    ("Tribunale di Bergamo", 10, "Piazza Dante 8"),
    ("Tribunale di Bologna", 4, "Via Farini 1"),
    ("Corte d'Appello di Roma", 1, "Via Romeo Romei 2"),
];

pub const PERSON_JOB_TITLES: [&str; 14] = [
    "Amministratore delegato",
    "Direttore generale",
    "Responsabile ufficio legale",
    "Legal counsel",
    "Direttore finanziario",
    "Responsabile risorse umane",
    "HR manager",
    "Responsabile acquisti",
    "Office manager",
    "Head of compliance",
    "Data protection officer",
    "Socio",
    "Consigliere di amministrazione",
    "General counsel",
];

pub const EXPERT_TITLES: [&str; 6] = [
    "Consulente tecnico d'ufficio",
    "Commercialista",
    "Perito informatico",
    "Ingegnere strutturista",
    "Medico legale",
    "Revisore legale",
];

pub const CONTACT_NOTES: [&str; 8] = [
    "Preferisce essere contattato via PEC.",
    "Cliente storico dello studio.",
    "Prefers to be contacted in English.",
    "Richiede copia cartacea della corrispondenza.",
    "Disponibile solo al mattino.",
    "Referral from a correspondent firm in London.",
    "Verificare il mandato prima di ogni nuova pratica.",
    "Fatturazione elettronica: codice destinatario su richiesta.",
];

/// Mobile prefixes of Italian operators (each followed by 7 digits).
pub const MOBILE_PREFIXES: [&str; 15] = [
    "320", "328", "329", "333", "335", "338", "339", "340", "347", "348", "349", "366", "380",
    "392", "393",
];

/// A practice area, the team that handles it and the matter titles it produces.
#[derive(Debug, Clone, Copy)]
pub struct PracticeArea {
    pub name: &'static str,
    /// Index into `TEAMS`.
    pub team: usize,
    /// Whether its matters have an opponent (and hence counterparties and court dates).
    pub litigious: bool,
    pub titles: [&'static str; 6],
}

pub const PRACTICE_AREAS: [PracticeArea; 6] = [
    PracticeArea {
        name: "Contenzioso civile",
        team: 0,
        litigious: true,
        titles: [
            "Opposizione a decreto ingiuntivo",
            "Recupero crediti commerciali",
            "Risarcimento danni da inadempimento contrattuale",
            "Azione di responsabilità verso ex amministratori",
            "Vizi dell'opera in appalto",
            "Breach of supply agreement claim",
        ],
    },
    PracticeArea {
        name: "Diritto societario",
        team: 1,
        litigious: false,
        titles: [
            "Costituzione di joint venture",
            "Aumento di capitale e patti parasociali",
            "Due diligence per acquisizione",
            "Cessione di quote",
            "Share purchase agreement",
            "Shareholders' agreement review",
        ],
    },
    PracticeArea {
        name: "Diritto del lavoro",
        team: 2,
        litigious: true,
        titles: [
            "Impugnazione di licenziamento",
            "Licenziamento per giusta causa",
            "Trasferimento d'azienda e consultazione sindacale",
            "Differenze retributive",
            "Patto di non concorrenza",
            "Senior executive employment contract",
        ],
    },
    PracticeArea {
        name: "Proprietà intellettuale",
        team: 1,
        litigious: true,
        titles: [
            "Registrazione marchio UE",
            "Opposizione a marchio",
            "Contraffazione di brevetto",
            "Concorrenza sleale",
            "Licenza software",
            "Trademark portfolio audit",
        ],
    },
    PracticeArea {
        name: "Penale d'impresa",
        team: 0,
        litigious: true,
        titles: [
            "Modello organizzativo 231",
            "Difesa in procedimento per reati tributari",
            "Indagine interna per appropriazione indebita",
            "Bancarotta: difesa dell'amministratore",
            "Sicurezza sul lavoro: infortunio in cantiere",
            "Internal investigation following a whistleblowing report",
        ],
    },
    PracticeArea {
        name: "Privacy",
        team: 1,
        litigious: false,
        titles: [
            "Adeguamento al GDPR",
            "Data breach: notifica al Garante",
            "Valutazione d'impatto (DPIA)",
            "Trasferimento di dati extra UE",
            "Videosorveglianza e controlli a distanza",
            "Data processing agreement review",
        ],
    },
];

/// A member of the firm: given name, family name, role.
pub type StaffMember = (&'static str, &'static str, &'static str);

/// The firm: partners lead the teams, then lawyers, trainees and the support staff.
pub const STAFF: [StaffMember; 12] = [
    ("Giulia", "Ferrari", "partner"),
    ("Marco", "Bianchi", "partner"),
    ("Eleanor", "Hughes", "partner"),
    ("Luca", "Romano", "lawyer"),
    ("Sara", "Colombo", "lawyer"),
    ("James", "Whitfield", "lawyer"),
    ("Matteo", "Greco", "trainee"),
    ("Alice", "Marino", "trainee"),
    ("Francesca", "Conti", "staff"),
    ("Elena", "Fontana", "marketing"),
    ("Roberto", "Moretti", "dpo"),
    ("Davide", "Lombardi", "admin"),
];

/// A team: name, description, members (indexes into `STAFF`), the first being its lead.
pub type TeamSpec = (&'static str, &'static str, &'static [usize]);

pub const TEAMS: [TeamSpec; 4] = [
    (
        "Contenzioso",
        "Contenzioso civile e penale d'impresa",
        &[0, 3, 6],
    ),
    (
        "Societario",
        "Diritto societario, proprietà intellettuale e privacy",
        &[1, 4, 7],
    ),
    (
        "Lavoro",
        "Diritto del lavoro e relazioni sindacali",
        &[2, 5, 6],
    ),
    (
        "Segreteria",
        "Segreteria, amministrazione e marketing",
        &[8, 9, 11],
    ),
];
