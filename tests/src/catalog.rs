//! Static vocabulary the generator draws from: places, departments, people and pay levels.
//!
//! Everything here is invented. Phone numbers use ranges reserved for fiction or look-alike
//! formats; e-mail addresses use `example.com`.

/// A city where postings are located, with its country, currency and pay level.
pub(crate) struct Place {
    pub city: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    /// Multiplier from the US (USD) reference salary into this place's currency.
    pub pay_factor: f64,
    /// Whole-number rounding step for annual salaries in this currency.
    pub round_to: i64,
}

/// Posting locations: at least one per required country.
pub(crate) const PLACES: &[Place] = &[
    Place {
        city: "San Francisco",
        country: "US",
        currency: "USD",
        pay_factor: 1.0,
        round_to: 1000,
    },
    Place {
        city: "New York",
        country: "US",
        currency: "USD",
        pay_factor: 0.95,
        round_to: 1000,
    },
    Place {
        city: "Austin",
        country: "US",
        currency: "USD",
        pay_factor: 0.85,
        round_to: 1000,
    },
    Place {
        city: "London",
        country: "GB",
        currency: "GBP",
        pay_factor: 0.55,
        round_to: 1000,
    },
    Place {
        city: "Berlin",
        country: "DE",
        currency: "EUR",
        pay_factor: 0.55,
        round_to: 1000,
    },
    Place {
        city: "Munich",
        country: "DE",
        currency: "EUR",
        pay_factor: 0.6,
        round_to: 1000,
    },
    Place {
        city: "Toronto",
        country: "CA",
        currency: "CAD",
        pay_factor: 0.85,
        round_to: 1000,
    },
    Place {
        city: "Bangalore",
        country: "IN",
        currency: "INR",
        pay_factor: 22.0,
        round_to: 10000,
    },
];

/// A department with its teams, job titles, requisition-code prefix and US reference salary.
pub(crate) struct Department {
    pub name: &'static str,
    pub code: &'static str,
    pub teams: &'static [&'static str],
    pub titles: &'static [&'static str],
    pub job_family: &'static str,
    /// Annual base for a mid-level full-time role in San Francisco, USD.
    pub reference_salary: f64,
}

/// Departments of the simulated company.
pub(crate) const DEPARTMENTS: &[Department] = &[
    Department {
        name: "Engineering",
        code: "ENG",
        teams: &["Platform", "Payments", "Mobile", "Data"],
        titles: &[
            "Backend Engineer",
            "Frontend Engineer",
            "Site Reliability Engineer",
            "Data Engineer",
        ],
        job_family: "Software Engineering",
        reference_salary: 150_000.0,
    },
    Department {
        name: "Sales",
        code: "SAL",
        teams: &["Enterprise", "Mid-Market", "SMB"],
        titles: &[
            "Account Executive",
            "Sales Development Representative",
            "Solutions Engineer",
        ],
        job_family: "Sales",
        reference_salary: 90_000.0,
    },
    Department {
        name: "Marketing",
        code: "MKT",
        teams: &["Growth", "Brand"],
        titles: &["Product Marketing Manager", "Content Marketing Manager"],
        job_family: "Marketing",
        reference_salary: 120_000.0,
    },
    Department {
        name: "Finance",
        code: "FIN",
        teams: &["Accounting", "FP&A"],
        titles: &["Financial Analyst", "Accountant"],
        job_family: "Finance",
        reference_salary: 115_000.0,
    },
    Department {
        name: "People",
        code: "PPL",
        teams: &["Recruiting", "People Operations"],
        titles: &["Technical Recruiter", "People Partner"],
        job_family: "People",
        reference_salary: 105_000.0,
    },
    Department {
        name: "Operations",
        code: "OPS",
        teams: &["Customer Support", "Workplace"],
        titles: &["Customer Support Specialist", "Workplace Coordinator"],
        job_family: "Operations",
        reference_salary: 70_000.0,
    },
];

/// Posting levels with their pay multiplier and requisition job level; `None` is "no level".
pub(crate) const LEVELS: &[(Option<&str>, f64, &str)] = &[
    (Some("Junior"), 0.75, "L2"),
    (Some("Mid"), 1.0, "L3"),
    (Some("Senior"), 1.3, "L4"),
    (Some("Staff"), 1.6, "L5"),
    (None, 1.0, "L3"),
];

/// Options of the `job_level` dropdown requisition field.
pub(crate) const JOB_LEVEL_OPTIONS: &[&str] = &["L1", "L2", "L3", "L4", "L5"];

/// Candidate first names (diverse, invented pairings).
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Priya", "Liam", "Sofia", "Kenji", "Amara", "Lucas", "Hannah", "Mateo", "Aisha", "Noah",
    "Chloe", "Arjun", "Elena", "Tobias", "Fatima", "Oliver", "Mei", "Jonas", "Zara", "Daniel",
    "Ines", "Ravi", "Freya", "Samuel", "Leila", "Marcus", "Yuki", "Anika", "Gabriel", "Nadia",
    "Ethan", "Lena", "Omar", "Clara", "Vikram", "Isla", "Felix", "Ananya", "Hugo", "Maya",
];

/// Candidate last names.
pub(crate) const LAST_NAMES: &[&str] = &[
    "Raman",
    "Okafor",
    "Schneider",
    "Tanaka",
    "Haddad",
    "Fernandes",
    "Kowalski",
    "Nguyen",
    "Johansson",
    "Mehta",
    "Brennan",
    "Castillo",
    "Weber",
    "Adeyemi",
    "Lindqvist",
    "Patel",
    "Moreau",
    "Becker",
    "Choi",
    "Rossi",
    "Iyer",
    "Novak",
    "Murphy",
    "Hoffmann",
    "Silva",
    "Kapoor",
    "Dubois",
    "Fischer",
    "Abara",
    "Costa",
    "Walsh",
    "Krishnan",
    "Larsen",
    "Santos",
    "Yilmaz",
    "Hughes",
    "Bauer",
    "Reddy",
    "Morgan",
    "Lopez",
];

/// Recruiting-team users: (name, deactivated).
pub(crate) const USERS: &[(&str, bool)] = &[
    ("Alex Morgan", false),
    ("Jamie Chen", false),
    ("Taylor Brooks", false),
    ("Riley Sato", false),
    ("Jordan Ellis", false),
    ("Casey Novak", true),
    ("Morgan Reyes", false),
    ("Avery Quinn", false),
    ("Drew Patel", true),
    ("Quinn Harper", false),
    ("Rowan Blake", true),
    ("Sam Whitaker", false),
];

/// Pipeline stages in order: (fixed id or `None` for a generated UUID, text).
pub(crate) const STAGES: &[(Option<&str>, &str)] = &[
    (Some("lead-new"), "New lead"),
    (Some("lead-reached-out"), "Reached out"),
    (Some("lead-responded"), "Responded"),
    (Some("applicant-new"), "New applicant"),
    (None, "Recruiter screen"),
    (None, "Phone interview"),
    (None, "On-site interview"),
    (None, "Reference check"),
    (None, "Offer"),
];

/// Index of the "Offer" stage in [`STAGES`].
pub(crate) const OFFER_STAGE_INDEX: usize = 8;

/// Index of the "New applicant" stage in [`STAGES`].
pub(crate) const APPLICANT_STAGE_INDEX: usize = 3;

/// Archive reasons: (text, hired type, active).
pub(crate) const ARCHIVE_REASONS: &[(&str, bool, bool)] = &[
    ("Hired", true, true),
    ("Offer declined", false, true),
    ("Withdrew", false, true),
    ("Underqualified", false, true),
    ("Position filled", false, true),
    ("Timing", false, false),
];

/// Index of "Hired" in [`ARCHIVE_REASONS`].
pub(crate) const REASON_HIRED: usize = 0;
/// Index of "Offer declined" in [`ARCHIVE_REASONS`].
pub(crate) const REASON_DECLINED: usize = 1;
/// Index of "Withdrew" in [`ARCHIVE_REASONS`].
pub(crate) const REASON_WITHDREW: usize = 2;
/// Index of "Underqualified" in [`ARCHIVE_REASONS`].
pub(crate) const REASON_UNDERQUALIFIED: usize = 3;
/// Index of "Position filled" in [`ARCHIVE_REASONS`].
pub(crate) const REASON_FILLED: usize = 4;
/// Index of the inactive reason in [`ARCHIVE_REASONS`].
pub(crate) const REASON_INACTIVE: usize = 5;

/// Free-text values of `custom_offer_type`.
pub(crate) const OFFER_TYPES: &[&str] = &["new hire", "rehire", "internal transfer"];

/// A fictional phone number for a candidate in `country`, built from `n`.
pub(crate) fn phone_for(country: &str, n: u32) -> String {
    match country {
        "GB" => format!("+44 20 7946 0{:03}", n % 1000),
        "DE" => format!("+49 30 {:04} {:04}", 1000 + n % 9000, n % 10_000),
        "CA" => format!("+1 416 555 01{:02}", n % 100),
        "IN" => format!("+91 80 {:04} {:04}", 4000 + n % 6000, n % 10_000),
        _ => format!("+1 415 555 01{:02}", n % 100),
    }
}
