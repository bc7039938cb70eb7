//! Shared pieces of the benchmarks: synthetic data, a server under test,
//! latency statistics and resident-memory readings.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// The contact count from `ROSTER_BENCH_SIZE` (`10k`, `100k`, `1m`).
pub fn size_from_env(default: usize) -> usize {
    match std::env::var("ROSTER_BENCH_SIZE").ok().as_deref() {
        Some("10k") => 10_000,
        Some("100k") => 100_000,
        Some("1m") | Some("1M") => 1_000_000,
        Some(other) => other.parse().unwrap_or(default),
        None => default,
    }
}

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Edward",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Anna",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Emma",
    "Scott",
    "Nicole",
    "Brandon",
    "Helen",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Alexander",
    "Debra",
    "Frank",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Raymond",
    "Janet",
    "Jack",
    "Catherine",
    "Dennis",
    "Maria",
    "Jerry",
    "Heather",
    "Tyler",
    "Diane",
    "Aaron",
    "Ruth",
    "José",
    "Julie",
    "Adam",
    "Olivia",
    "Nathan",
    "Joyce",
    "Henry",
    "Virginia",
    "Douglas",
    "Victoria",
    "Zachary",
    "Kelly",
    "Peter",
    "Lauren",
    "Kyle",
    "Christina",
    "Ethan",
    "Joan",
    "Walter",
    "Evelyn",
    "Noah",
    "Judith",
    "Jeremy",
    "Megan",
    "Christian",
    "Andrea",
    "Keith",
    "Cheryl",
    "Roger",
    "Hannah",
    "Terry",
    "Jacqueline",
    "Gerald",
    "Martha",
    "Harold",
    "Gloria",
    "Sean",
    "Teresa",
    "Austin",
    "Ann",
    "Carl",
    "Sara",
    "Arthur",
    "Madison",
    "Lawrence",
    "Frances",
    "Dylan",
    "Kathryn",
    "Jesse",
    "Janice",
    "Jordan",
    "Jean",
    "Bryan",
    "Abigail",
    "Billy",
    "Alice",
    "Joe",
    "Judy",
    "Bruce",
    "Sophia",
    "Gabriel",
    "Grace",
    "Logan",
    "Denise",
    "Albert",
    "Amber",
    "Willie",
    "Doris",
    "Alan",
    "Marilyn",
    "Juan",
    "Danielle",
    "Wayne",
    "Beverly",
    "Elijah",
    "Isabella",
    "Randy",
    "Theresa",
    "Roy",
    "Diana",
    "Vincent",
    "Natalie",
    "Ralph",
    "Brittany",
    "Eugene",
    "Charlotte",
    "Russell",
    "Marie",
    "Bobby",
    "Kayla",
    "Mason",
    "Alexis",
    "Philip",
    "Lori",
    "Zoë",
    "Renée",
    "Chloé",
    "Søren",
    "Ngozi",
    "Wei",
    "Priya",
    "Aarav",
    "Yuki",
    "Mateo",
];

/// Last names shared by every benchmark (a few with accents and apostrophes).
pub const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
    "Webb",
    "Tucker",
    "Guzman",
    "Burns",
    "Crawford",
    "Olson",
    "Simpson",
    "Porter",
    "Hunter",
    "Gordon",
    "Mendez",
    "Silva",
    "Shaw",
    "Snyder",
    "Mason",
    "Dixon",
    "Muñoz",
    "Hunt",
    "Hicks",
    "Holmes",
    "Palmer",
    "Wagner",
    "Black",
    "Robertson",
    "Boyd",
    "Rose",
    "Stone",
    "Salazar",
    "Fox",
    "Warren",
    "Mills",
    "Meyer",
    "Rice",
    "Schmidt",
    "Garza",
    "Daniels",
    "Ferguson",
    "Nichols",
    "Stephens",
    "Soto",
    "Weaver",
    "Ryan",
    "Gardner",
    "Payne",
    "Grant",
    "Dunn",
    "Kelley",
    "Spencer",
    "Hawkins",
    "Arnold",
    "Pierce",
    "Vázquez",
    "Hansen",
    "Peters",
    "Santos",
    "Hart",
    "Bradley",
    "Knight",
    "Elliott",
    "Cunningham",
    "Duncan",
    "Armstrong",
    "O'Brien",
    "Kowalski",
    "Nakamura",
    "Okafor",
    "Haddad",
    "Novak",
    "Larsen",
    "Dubois",
];

const AREA_CODES: &[u32] = &[
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225,
    228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281,
    301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321,
    323, 325, 330, 334, 336, 337, 339, 347, 351, 352, 360, 361, 386, 401, 402, 404, 405, 406, 407,
    408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 425, 432, 434, 435, 440, 443, 469, 478, 479,
    480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516, 517, 518, 520, 530,
    540, 541, 551, 559, 561, 562, 563, 570, 571, 573, 574, 580, 585, 586, 601, 602, 603, 605, 606,
    607, 608, 609, 610, 612, 614, 615, 616, 617, 618, 619, 620, 623, 626, 630, 631, 636, 641, 646,
    650, 651, 660, 661, 662, 678, 682, 701, 702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716,
    717, 718, 719, 720, 724, 727, 731, 732, 734, 740, 754, 757, 760, 763, 765, 770, 772, 773, 774,
    775, 781, 785, 786, 801, 802, 803, 804, 805, 806, 808, 810, 812, 813, 814, 815, 816, 817, 818,
    828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857, 858, 859, 860, 862, 863, 864, 865, 870,
    878, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916, 917, 918, 919, 920, 925,
    928, 931, 936, 937, 940, 941, 947, 949, 952, 954, 956, 970, 971, 972, 973, 978, 979, 980, 985,
    989,
];

const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "example.org",
    "fastmail.com",
    "comcast.net",
];

/// Tags with a skewed (Zipf-like) popularity: `TAGS[0]` is the most common.
pub const TAGS: &[&str] = &[
    "member",
    "donor",
    "volunteer",
    "vip",
    "newsletter",
    "event-2025",
    "board",
    "alumni",
    "parent",
    "student",
    "staff",
    "sponsor",
    "lapsed",
    "prospect",
    "press",
    "partner",
    "speaker",
    "mentor",
    "west-chapter",
    "east-chapter",
    "north-chapter",
    "south-chapter",
    "gala",
    "golf",
    "walkathon",
    "monthly",
    "annual",
    "major-gift",
    "in-kind",
    "church",
];

/// (state, weight, zip prefix)
const STATES: &[(&str, u32, u32)] = &[
    ("CA", 118, 900),
    ("TX", 88, 750),
    ("FL", 65, 320),
    ("NY", 59, 100),
    ("PA", 39, 150),
    ("IL", 38, 600),
    ("OH", 35, 430),
    ("GA", 32, 300),
    ("NC", 32, 270),
    ("MI", 30, 480),
    ("NJ", 28, 70),
    ("VA", 26, 220),
    ("WA", 23, 980),
    ("AZ", 22, 850),
    ("MA", 21, 10),
    ("TN", 21, 370),
    ("IN", 20, 460),
    ("MD", 19, 206),
    ("MO", 18, 630),
    ("WI", 18, 530),
    ("CO", 17, 800),
    ("MN", 17, 550),
    ("SC", 16, 290),
    ("AL", 15, 350),
    ("LA", 14, 700),
    ("KY", 13, 400),
    ("OR", 13, 970),
    ("OK", 12, 730),
    ("CT", 11, 60),
    ("UT", 10, 840),
    ("IA", 9, 500),
    ("NV", 9, 889),
    ("AR", 9, 716),
    ("MS", 9, 386),
    ("KS", 9, 660),
    ("NM", 6, 870),
    ("NE", 6, 680),
    ("ID", 6, 832),
    ("WV", 5, 247),
    ("HI", 4, 967),
    ("NH", 4, 30),
    ("ME", 4, 39),
    ("MT", 3, 590),
    ("RI", 3, 28),
    ("DE", 3, 197),
    ("SD", 3, 570),
    ("ND", 2, 580),
    ("AK", 2, 995),
    ("DC", 2, 200),
    ("VT", 2, 50),
    ("WY", 1, 820),
];

/// One synthetic contact.
pub struct Person {
    pub first: &'static str,
    pub last: &'static str,
    pub phone: String,
    pub email: Option<String>,
    pub state: &'static str,
    pub zip: String,
    pub city: &'static str,
    pub tags: Vec<&'static str>,
    pub member_id: String,
    pub chapter: &'static str,
    pub joined: u32,
}

const CITIES: &[&str] = &[
    "Springfield",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Fairview",
    "Salem",
    "Madison",
    "Georgetown",
    "Arlington",
    "Ashland",
    "Dover",
    "Oxford",
    "Jackson",
    "Burlington",
    "Manchester",
    "Milton",
    "Newport",
    "Auburn",
    "Dayton",
    "Lexington",
    "Riverside",
    "Raleigh",
];

/// A deterministic generator: the same seed yields the same people.
pub struct Generator {
    rng: StdRng,
    state_total: u32,
    exchanges: Vec<u32>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            state_total: STATES.iter().map(|s| s.1).sum(),
            exchanges: (200..1000).filter(|e| e % 100 != 11).collect(),
        }
    }

    /// The `i`-th person; phones and emails are unique per `i`.
    pub fn person(&mut self, i: usize) -> Person {
        let rng = &mut self.rng;
        let first = FIRST[skewed(rng, FIRST.len())];
        let last = LAST[skewed(rng, LAST.len())];
        let area = AREA_CODES[i % AREA_CODES.len()];
        let k = i / AREA_CODES.len();
        // Exchange 200..=999 without N11; line a bijection of the rest, so
        // every `i` gets its own number.
        let exchange = self.exchanges[k % self.exchanges.len()];
        let line = ((k / self.exchanges.len()) as u32 * 3331 + 17) % 10_000;
        let phone = format!("({area}) {exchange:03}-{line:04}");
        let email = (rng.random_range(0..10) < 9).then(|| {
            format!(
                "{}.{}{}@{}",
                ascii_lower(first),
                ascii_lower(last),
                i,
                DOMAINS[rng.random_range(0..DOMAINS.len())]
            )
        });
        let mut pick = rng.random_range(0..self.state_total);
        let mut state = STATES[0];
        for s in STATES {
            if pick < s.1 {
                state = *s;
                break;
            }
            pick -= s.1;
        }
        let zip = format!("{:03}{:02}", state.2, rng.random_range(0..100));
        let n_tags = rng.random_range(0..=5);
        let mut tags: Vec<&'static str> = Vec::new();
        for _ in 0..n_tags {
            let t = TAGS[skewed(rng, TAGS.len())];
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Person {
            first,
            last,
            phone,
            email,
            state: state.0,
            zip,
            city: CITIES[rng.random_range(0..CITIES.len())],
            tags,
            member_id: format!("M-{:07}", i),
            chapter: ["Triangle", "Triad", "Coast", "Mountains"][rng.random_range(0..4)],
            joined: 2000 + rng.random_range(0..26),
        }
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// An index in `0..n`, small indexes far more likely (roughly Zipf).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random_range(0.0..1.0);
    ((n as f64).powf(u) - 1.0) as usize % n
}

/// Writes `n` people as a CSV file with the usual headers.
pub fn write_csv(path: &Path, n: usize, seed: u64) {
    let file = std::fs::File::create(path).expect("create csv");
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    w.write_record([
        "First Name",
        "Last Name",
        "Phone",
        "Email",
        "City",
        "State",
        "Zip",
        "Tags",
        "Member ID",
        "Chapter",
        "Joined",
    ])
    .unwrap();
    let mut g = Generator::new(seed);
    for i in 0..n {
        let p = g.person(i);
        w.write_record([
            p.first,
            p.last,
            &p.phone,
            p.email.as_deref().unwrap_or(""),
            p.city,
            p.state,
            &p.zip,
            &p.tags.join(";"),
            &p.member_id,
            p.chapter,
            &p.joined.to_string(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// A roster server process under test.
pub struct ServerProc {
    pub child: Child,
    pub base: String,
    pub key: String,
    pub data_dir: PathBuf,
    pub started_in: Duration,
}

impl ServerProc {
    /// Starts `roster serve` on `data_dir`; `key` is created first if None.
    pub fn start(data_dir: &Path, key: Option<&str>, extra: &[&str]) -> Self {
        let key = match key {
            Some(k) => k.to_string(),
            None => create_key(data_dir, "bench"),
        };
        let t0 = Instant::now();
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn roster");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("roster listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("server start");
        let http = reqwest::blocking::Client::new();
        loop {
            if http
                .get(format!("{base}/healthz"))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let started_in = t0.elapsed();
        Self {
            child,
            base,
            key,
            data_dir: data_dir.to_path_buf(),
            started_in,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current RSS, peak RSS) in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        rss_of(self.pid())
    }

    /// CPU time the server has used so far, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs_of(&self.pid().to_string())
    }

    /// Waits (at most `limit`) until the server has used less than a tenth
    /// of a core over a whole second: its background work after a large
    /// write (index merges, WAL checkpoints) is done. Returns the wait.
    pub fn wait_idle(&self, limit: Duration) -> Duration {
        let t = Instant::now();
        let mut last = self.cpu_secs();
        while t.elapsed() < limit {
            std::thread::sleep(Duration::from_secs(1));
            let now = self.cpu_secs();
            if now - last < 0.1 {
                break;
            }
            last = now;
        }
        t.elapsed()
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn create_key(data_dir: &Path, org: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--org",
            org,
            "--access",
            "write",
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .expect("keys create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

/// Fields of `/proc/PID/status`, summed, in MiB.
fn status_mib(pid: u32, names: &[&str]) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .sum::<f64>()
        / 1024.0
}

/// CPU time (user + system) process `pid` (or `self`) has used, in seconds.
pub fn cpu_secs_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the parenthesised command name, utime and stime are the 12th and
    // 13th fields, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// (VmRSS, VmHWM) of a process, in MiB.
pub fn rss_of(pid: u32) -> (f64, f64) {
    (status_mib(pid, &["VmRSS:"]), status_mib(pid, &["VmHWM:"]))
}

/// Latency samples.
#[derive(Default, Clone)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[idx]
    }

    pub fn p50(&self) -> Duration {
        self.pct(0.50)
    }

    pub fn p95(&self) -> Duration {
        self.pct(0.95)
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Appends a line to the report (stdout and, when set, `ROSTER_BENCH_REPORT`).
pub fn report(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("ROSTER_BENCH_REPORT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("report file");
        writeln!(f, "{line}").unwrap();
    }
}

/// Machine description for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores ({cpu}), {mem:.0} GiB RAM")
}

/// (RssAnon, RssFile) of a process in MiB: private memory, and pages of
/// memory-mapped files (the database and index), which the kernel can drop.
pub fn rss_split_mib(pid: u32) -> (f64, f64) {
    (
        status_mib(pid, &["RssAnon:"]),
        status_mib(pid, &["RssFile:", "RssShmem:"]),
    )
}
