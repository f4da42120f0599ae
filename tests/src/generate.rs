//! Deterministic dataset generator: one seeded RNG drives every decision.
//!
//! Order matters for determinism: dimensions first (stages, reasons, users, postings with
//! their requisitions), then opportunities one by one, then a few pre-deleted ones.

use crate::catalog::{self, DEPARTMENTS, LEVELS, PLACES};
use crate::dataset::{
    Application, Archive, ArchiveReason, Dataset, DeletedOpportunity, Interval, Offer, OfferStatus,
    OfferTerms, OppShape, Opportunity, Person, Planned, Posting, Requisition, RequisitionCustom,
    RequisitionField, Shape, Stage, StageChange, User,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Default "now" of generated datasets (ms).
pub const DEFAULT_NOW_MS: i64 = 1_780_000_000_000;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Generates a dataset. Same arguments, same dataset.
///
/// `createdAt` values are spread over the two years before `now_ms`; every timestamp is
/// at or before `now_ms`.
pub fn generate(seed: u64, opportunities: usize, now_ms: i64) -> Dataset {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        now: now_ms,
        emails: HashMap::new(),
        people: Vec::new(),
        phone_serial: 0,
    };

    let stages = g.stages();
    let archive_reasons = g.archive_reasons();
    let users = g.users();
    let (plans, requisitions) = g.postings((opportunities / 8).clamp(40, 300), &users);

    let ctx = Ctx {
        stages: &stages,
        reasons: &archive_reasons,
        users: &users,
        plans: &plans,
    };
    let mut opps: Vec<Opportunity> = (0..opportunities).map(|_| g.opportunity(&ctx)).collect();
    opps.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));

    let mut pii: Vec<String> = g
        .people
        .iter()
        .flat_map(|(_, p)| [p.name.clone(), p.email.clone(), p.phone.clone()])
        .collect();
    pii.sort();
    pii.dedup();

    let mut postings: Vec<Posting> = plans.into_iter().map(|p| p.posting).collect();
    postings.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));

    let mut dataset = Dataset {
        seed,
        now_ms,
        stages,
        archive_reasons,
        users,
        postings,
        requisitions,
        requisition_fields: requisition_fields(),
        opportunities: opps,
        deleted: Vec::new(),
        pii,
        opp_index: HashMap::new(),
    };
    dataset.reindex();

    g.pre_delete(&mut dataset);
    dataset
}

/// A posting plus the pay facts the generator uses for its offers.
struct PostingPlan {
    posting: Posting,
    department: usize,
    level: usize,
    /// Full-time-equivalent annual base in the posting's currency.
    annual: f64,
    round_to: i64,
    pay_factor: f64,
    interval: Interval,
    requisition_ids: Vec<String>,
}

/// Read-only context for opportunity generation.
struct Ctx<'a> {
    stages: &'a [Stage],
    reasons: &'a [ArchiveReason],
    users: &'a [User],
    plans: &'a [PostingPlan],
}

/// Where a candidacy ends up.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    /// Archived as hired; `true` when the Offer stage was skipped.
    Hired(bool),
    Declined,
    WithdrewAtOffer,
    ActiveAtOffer,
    ArchivedEarly(usize),
    ActiveEarly,
}

struct Gen {
    rng: StdRng,
    now: i64,
    emails: HashMap<String, u32>,
    people: Vec<(String, Person)>,
    phone_serial: u32,
}

impl Gen {
    fn uuid(&mut self) -> String {
        let mut v: u128 = self.rng.random();
        v = (v & !(0xF << 76)) | (0x4 << 76);
        v = (v & !(0x3 << 62)) | (0x2 << 62);
        let h = format!("{v:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// Picks an index according to integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut roll = self.rng.random_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    fn stages(&mut self) -> Vec<Stage> {
        catalog::STAGES
            .iter()
            .map(|(id, text)| Stage {
                id: id.map(str::to_string).unwrap_or_else(|| self.uuid()),
                text: text.to_string(),
            })
            .collect()
    }

    fn archive_reasons(&mut self) -> Vec<ArchiveReason> {
        catalog::ARCHIVE_REASONS
            .iter()
            .map(|(text, hired, active)| ArchiveReason {
                id: self.uuid(),
                text: text.to_string(),
                hired: *hired,
                active: *active,
            })
            .collect()
    }

    fn users(&mut self) -> Vec<User> {
        let mut users = Vec::new();
        for (i, (name, deactivated)) in catalog::USERS.iter().enumerate() {
            let created_at = self.now - 900 * DAY + i as i64 * 10 * DAY;
            let deactivated_at =
                deactivated.then(|| self.now - self.rng.random_range(30..300) * DAY);
            users.push(User {
                id: self.uuid(),
                name: name.to_string(),
                email: format!("{}@acme.example", name.to_lowercase().replace(' ', ".")),
                created_at,
                deactivated_at,
            });
        }
        users
    }

    fn active_user(&mut self, users: &[User]) -> String {
        let active: Vec<&User> = users
            .iter()
            .filter(|u| u.deactivated_at.is_none())
            .collect();
        active
            .choose(&mut self.rng)
            .map(|u| u.id.clone())
            .unwrap_or_default()
    }

    fn any_user(&mut self, users: &[User]) -> String {
        users
            .choose(&mut self.rng)
            .map(|u| u.id.clone())
            .unwrap_or_default()
    }

    /// Postings (as plans) and the requisitions behind their codes.
    fn postings(&mut self, count: usize, users: &[User]) -> (Vec<PostingPlan>, Vec<Requisition>) {
        let mut plans = Vec::with_capacity(count);
        let mut requisitions = Vec::new();
        let mut code_serial: HashMap<&str, u32> = HashMap::new();

        for _ in 0..count {
            let department = self.weighted(&[35, 20, 10, 10, 10, 15]);
            let dept = &DEPARTMENTS[department];
            let level = self.weighted(&[20, 30, 25, 10, 15]);
            let (level_name, level_factor, _) = LEVELS[level];
            let place = PLACES.choose(&mut self.rng).expect("places");
            let commitment =
                ["Full-time", "Part-time", "Intern", "Contract"][self.weighted(&[75, 8, 7, 10])];
            let base_title = *dept.titles.choose(&mut self.rng).expect("titles");
            let team = dept.teams.choose(&mut self.rng).expect("teams").to_string();

            let title = posting_title(level_name, base_title, commitment);
            let interval = self.interval(commitment, department, place.country);
            let mut annual = dept.reference_salary * level_factor * place.pay_factor;
            if commitment == "Intern" {
                annual *= 0.45;
            }

            let codes_count = [1, 2, 0][self.weighted(&[80, 10, 10])];
            let codes: Vec<String> = (0..codes_count)
                .map(|_| {
                    let serial = code_serial.entry(dept.code).or_insert(0);
                    *serial += 1;
                    format!("{}-{:04}", dept.code, *serial)
                })
                .collect();

            let created_at = self.now - self.rng.random_range(30..800) * DAY;
            let posting = Posting {
                id: self.uuid(),
                text: title.clone(),
                state: ["published", "internal", "closed"][self.weighted(&[70, 10, 20])],
                confidential: self.chance(0.06),
                department: dept.name.to_string(),
                team: team.clone(),
                location: place.city.to_string(),
                commitment: commitment.to_string(),
                level: level_name.map(str::to_string),
                country: place.country.to_string(),
                workplace_type: ["onsite", "hybrid", "remote"][self.weighted(&[40, 40, 20])],
                requisition_codes: codes.clone(),
                currency: place.currency.to_string(),
                owner: self.active_user(users),
                hiring_manager: self.any_user(users),
                created_at,
                updated_at: created_at + self.rng.random_range(0..20) * DAY,
            };

            let mut requisition_ids = Vec::new();
            for code in &codes {
                let req = self.requisition(code, &posting, department, level, place, annual);
                requisition_ids.push(req.id.clone());
                requisitions.push(req);
            }

            plans.push(PostingPlan {
                posting,
                department,
                level,
                annual,
                round_to: place.round_to,
                pay_factor: place.pay_factor,
                interval,
                requisition_ids,
            });
        }

        requisitions.extend(self.orphan_requisitions(count / 20, users, &mut code_serial));
        requisitions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        (plans, requisitions)
    }

    fn interval(&mut self, commitment: &str, department: usize, country: &str) -> Interval {
        match commitment {
            "Part-time" | "Contract" => Interval::Hour,
            "Intern" if self.chance(0.6) => Interval::Month,
            "Intern" => Interval::Hour,
            _ if DEPARTMENTS[department].name == "Operations"
                && country == "US"
                && self.chance(0.5) =>
            {
                Interval::Hour
            }
            _ if matches!(country, "DE" | "IN") && self.chance(0.25) => Interval::Month,
            _ if self.chance(0.05) => Interval::Month,
            _ => Interval::Year,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn requisition(
        &mut self,
        code: &str,
        posting: &Posting,
        department: usize,
        level: usize,
        place: &catalog::Place,
        annual: f64,
    ) -> Requisition {
        let dept = &DEPARTMENTS[department];
        let employment_status = match posting.commitment.as_str() {
            "Part-time" => "part-time",
            "Intern" => "intern",
            "Contract" => "contractor",
            _ => "full-time",
        };
        let min = round_to(annual * 0.9, place.round_to) as i64;
        let max = round_to(annual * 1.1, place.round_to) as i64;
        let created_at = posting.created_at - self.rng.random_range(1..15) * DAY;

        Requisition {
            id: self.uuid(),
            code: code.to_string(),
            name: posting.text.clone(),
            status: if posting.state == "closed" {
                "closed"
            } else {
                ["open", "onHold"][self.weighted(&[9, 1])]
            },
            confidential: posting.confidential || self.chance(0.03),
            location: place.city.to_string(),
            team: posting.team.clone(),
            department: dept.name.to_string(),
            employment_status,
            headcount_total: self.rng.random_range(1..4),
            posting_ids: vec![posting.id.clone()],
            custom: RequisitionCustom {
                job_family: (!self.chance(0.1)).then(|| dept.job_family.to_string()),
                job_level: (!self.chance(0.05)).then(|| LEVELS[level].2.to_string()),
                work_location: (!self.chance(0.05))
                    .then(|| format!("{}, {}", place.city, place.country)),
                cost_center: ((department + 1).to_string(), place.city.to_string()),
            },
            band: (place.currency.to_string(), "per-year-salary", min, max),
            hiring_manager: posting.hiring_manager.clone(),
            created_at,
            updated_at: created_at + self.rng.random_range(0..30) * DAY,
        }
    }

    /// Requisitions that no posting carries (draft or filled elsewhere).
    fn orphan_requisitions(
        &mut self,
        count: usize,
        users: &[User],
        code_serial: &mut HashMap<&'static str, u32>,
    ) -> Vec<Requisition> {
        (0..count)
            .map(|_| {
                let department = self.rng.random_range(0..DEPARTMENTS.len());
                let dept = &DEPARTMENTS[department];
                let place = PLACES.choose(&mut self.rng).expect("places");
                let serial = code_serial.entry(dept.code).or_insert(0);
                *serial += 1;
                let code = format!("{}-{:04}", dept.code, *serial);
                let created_at = self.now - self.rng.random_range(10..700) * DAY;
                let annual = dept.reference_salary * place.pay_factor;
                Requisition {
                    id: self.uuid(),
                    code,
                    name: dept.titles[0].to_string(),
                    status: "closed",
                    confidential: self.chance(0.1),
                    location: place.city.to_string(),
                    team: dept.teams[0].to_string(),
                    department: dept.name.to_string(),
                    employment_status: "full-time",
                    headcount_total: 1,
                    posting_ids: Vec::new(),
                    custom: RequisitionCustom {
                        job_family: Some(dept.job_family.to_string()),
                        job_level: Some("L3".to_string()),
                        work_location: Some(format!("{}, {}", place.city, place.country)),
                        cost_center: ((department + 1).to_string(), place.city.to_string()),
                    },
                    band: (
                        place.currency.to_string(),
                        "per-year-salary",
                        round_to(annual * 0.9, place.round_to) as i64,
                        round_to(annual * 1.1, place.round_to) as i64,
                    ),
                    hiring_manager: self.active_user(users),
                    created_at,
                    updated_at: created_at,
                }
            })
            .collect()
    }

    /// A new candidate (or, sometimes, an existing contact applying again).
    fn person(&mut self, country: &str) -> (String, Person) {
        if !self.people.is_empty() && self.chance(0.04) {
            let i = self.rng.random_range(0..self.people.len());
            return self.people[i].clone();
        }

        let first = *catalog::FIRST_NAMES.choose(&mut self.rng).expect("names");
        let last = *catalog::LAST_NAMES.choose(&mut self.rng).expect("names");
        let local = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let seen = self.emails.entry(local.clone()).or_insert(0);
        *seen += 1;
        let email = if *seen == 1 {
            format!("{local}@example.com")
        } else {
            format!("{local}{seen}@example.com")
        };
        self.phone_serial += 1;
        let phone = catalog::phone_for(country, self.phone_serial.wrapping_mul(7919));

        let entry = (
            self.uuid(),
            Person {
                name: format!("{first} {last}"),
                email,
                phone,
            },
        );
        self.people.push(entry.clone());
        entry
    }

    /// `p_offer` is the chance of reaching the Offer stage.
    fn fate(&mut self, p_offer: f64) -> Fate {
        if self.chance(p_offer) {
            return match self.weighted(&[40, 20, 5, 35]) {
                0 => Fate::Hired(self.chance(0.05)),
                1 => Fate::Declined,
                2 => Fate::WithdrewAtOffer,
                _ => Fate::ActiveAtOffer,
            };
        }
        if self.chance(0.6) {
            let reason = [
                catalog::REASON_UNDERQUALIFIED,
                catalog::REASON_FILLED,
                catalog::REASON_WITHDREW,
                catalog::REASON_INACTIVE,
            ][self.weighted(&[45, 25, 20, 10])];
            Fate::ArchivedEarly(reason)
        } else {
            Fate::ActiveEarly
        }
    }

    /// Stage indexes visited, in order.
    fn stage_path(&mut self, sourced: bool, fate: Fate) -> Vec<usize> {
        let start = if sourced {
            0
        } else {
            catalog::APPLICANT_STAGE_INDEX
        };
        let last = match fate {
            Fate::Hired(true) => catalog::OFFER_STAGE_INDEX - 1,
            Fate::Hired(false) | Fate::Declined | Fate::WithdrewAtOffer | Fate::ActiveAtOffer => {
                catalog::OFFER_STAGE_INDEX
            }
            _ => self.rng.random_range(start..catalog::OFFER_STAGE_INDEX),
        };

        let mut path = vec![start];
        for idx in start + 1..=last {
            if idx == last || self.chance(0.8) {
                path.push(idx);
            }
        }
        path
    }

    /// Offer statuses, oldest first.
    fn offer_statuses(&mut self, fate: Fate) -> Vec<OfferStatus> {
        use OfferStatus::*;
        let latest = match fate {
            Fate::Hired(_) if self.chance(0.9) => Signed,
            Fate::Hired(_) => [Sent, Opened][self.weighted(&[1, 1])],
            Fate::Declined => [Sent, Opened, SentManually][self.weighted(&[45, 45, 10])],
            Fate::WithdrewAtOffer => [Approved, Sent, Opened][self.weighted(&[1, 1, 1])],
            Fate::ActiveAtOffer if self.chance(0.05) => return Vec::new(),
            Fate::ActiveAtOffer => {
                let all = [
                    Draft,
                    ApprovalSent,
                    Approved,
                    Sent,
                    SentManually,
                    Opened,
                    Denied,
                    Signed,
                ];
                all[self.weighted(&[15, 15, 15, 15, 8, 15, 5, 12])]
            }
            _ => return Vec::new(),
        };

        if self.chance(0.15) {
            let older = [Draft, Denied, Sent][self.weighted(&[4, 3, 3])];
            vec![older, latest]
        } else {
            vec![latest]
        }
    }

    fn opportunity(&mut self, ctx: &Ctx) -> Opportunity {
        let created_at = self.now - self.rng.random_range(DAY..730 * DAY);
        let has_app = self.chance(0.95);
        let origin = if has_app {
            [
                "applied",
                "sourced",
                "referred",
                "agency",
                "internal",
                "university",
            ][self.weighted(&[55, 20, 12, 5, 4, 4])]
        } else {
            "sourced"
        };
        let plan_idx = self.rng.random_range(0..ctx.plans.len());
        let plan = &ctx.plans[plan_idx];
        let (contact, person) = self.person(&plan.posting.country);
        let fate = self.fate(if has_app { 0.3 } else { 0.5 });

        // Stage path, then the offers, then the archive, all on one time line.
        let path = self.stage_path(origin == "sourced", fate);
        let statuses = self.offer_statuses(fate);
        let archived = !matches!(fate, Fate::ActiveAtOffer | Fate::ActiveEarly);

        let mut gaps: Vec<i64> = path
            .iter()
            .skip(1)
            .map(|_| self.rng.random_range(HOUR..7 * DAY))
            .collect();
        let mut offer_events = Vec::new();
        for status in &statuses {
            let events = offer_event_count(*status);
            offer_events.push(events);
            gaps.extend((0..events).map(|_| self.rng.random_range(HOUR..3 * DAY)));
        }
        if archived {
            gaps.push(self.rng.random_range(HOUR..5 * DAY));
        }
        let times = timeline(created_at, self.now, &gaps);
        let mut at = times.iter().copied();

        let stage_changes: Vec<StageChange> = path
            .iter()
            .map(|&idx| StageChange {
                to_stage_id: ctx.stages[idx].id.clone(),
                to_stage_index: idx,
                user_id: self.any_user(ctx.users),
                updated_at: at.next().unwrap_or(created_at),
            })
            .collect();
        let last_advanced_at = stage_changes.last().map_or(created_at, |c| c.updated_at);

        // Offers: every offer of an opportunity is made against the same posting/requisition.
        let (offer_plan_idx, requisition) = self.offer_target(ctx, plan_idx, has_app);
        let mut offers = Vec::new();
        for (status, events) in statuses.iter().zip(offer_events) {
            let stamps: Vec<i64> = (0..events).filter_map(|_| at.next()).collect();
            let explicit = offer_plan_idx != plan_idx || !has_app;
            let terms = self.terms(
                ctx,
                offer_plan_idx,
                explicit,
                &requisition,
                &person,
                *status,
                stamps[0],
            );
            offers.push(self.offer(ctx, *status, &stamps, terms));
        }

        let archive = archived.then(|| {
            let reason = match fate {
                Fate::Hired(_) => catalog::REASON_HIRED,
                Fate::Declined => catalog::REASON_DECLINED,
                Fate::WithdrewAtOffer => catalog::REASON_WITHDREW,
                Fate::ArchivedEarly(r) => r,
                _ => catalog::REASON_WITHDREW,
            };
            Archive {
                reason_id: ctx.reasons[reason].id.clone(),
                at: at.next().unwrap_or(self.now),
            }
        });

        let last_event = times.last().copied().unwrap_or(created_at);
        let updated_at = if created_at < self.now - 540 * DAY && self.chance(0.03) {
            None
        } else {
            Some((last_event + self.rng.random_range(0..HOUR)).min(self.now))
        };

        let application = has_app.then(|| Application {
            id: self.uuid(),
            posting_id: plan.posting.id.clone(),
            kind: "posting",
            requisition_for_hire: None,
            created_at,
        });
        let mut opp = Opportunity {
            id: self.uuid(),
            contact,
            person,
            origin,
            owner: self.active_user(ctx.users),
            stage_id: ctx.stages[*path.last().expect("path")].id.clone(),
            stage_changes,
            archive,
            shape: OppShape {
                archive_top_level: self.chance(0.1),
                string_timestamps: self.chance(0.015),
            },
            confidential: plan.posting.confidential || self.chance(0.02),
            created_at,
            updated_at,
            last_advanced_at,
            application,
            offers,
        };

        if matches!(fate, Fate::Hired(_))
            && requisition.is_some()
            && self.chance(0.7)
            && let Some(app) = opp.application.as_mut()
        {
            app.requisition_for_hire = requisition;
        }
        opp
    }

    /// The posting (plan index) and requisition the opportunity's offers are made against.
    fn offer_target(
        &mut self,
        ctx: &Ctx,
        plan_idx: usize,
        has_app: bool,
    ) -> (usize, Option<String>) {
        let mut target = plan_idx;
        if has_app && self.chance(0.05) {
            let others: Vec<usize> = (0..ctx.plans.len())
                .filter(|&i| i != plan_idx && !ctx.plans[i].requisition_ids.is_empty())
                .collect();
            if let Some(&other) = others.choose(&mut self.rng) {
                target = other;
            }
        }
        let requisition = ctx.plans[target]
            .requisition_ids
            .choose(&mut self.rng)
            .cloned();
        (target, requisition)
    }

    /// Decides every offer field. `explicit` forces the posting and requisition fields
    /// (offers for another posting, or without an application to fall back on).
    #[allow(clippy::too_many_arguments)]
    fn terms(
        &mut self,
        ctx: &Ctx,
        plan_idx: usize,
        explicit: bool,
        requisition: &Option<String>,
        person: &Person,
        status: OfferStatus,
        created_at: i64,
    ) -> OfferTerms {
        let plan = &ctx.plans[plan_idx];
        let posting = &plan.posting;
        let full_time = posting.commitment == "Full-time";
        let dept_name = DEPARTMENTS[plan.department].name;
        let usd = |g: &mut Gen, lo: i64, hi: i64| {
            let v = g.rng.random_range(lo..=hi) as f64 * plan.pay_factor;
            Decimal::from(round_to(v, plan.round_to) as i64)
        };

        // Fallbacks are unambiguous: without the field, the posting has exactly one code.
        let job_posting = (explicit || !self.chance(0.03)).then(|| posting.id.clone());
        let requisition_field = match plan.requisition_ids.len() {
            0 => None,
            1 if !explicit && self.chance(0.15) => None,
            _ => requisition.clone(),
        };

        let base = self.base_pay(plan);
        let salary = if status == OfferStatus::Draft && self.chance(0.05) {
            Some(Planned {
                amount: None,
                shape: Shape::Number,
            })
        } else if self.chance(0.07) {
            // Base pay is a numeric string now and then, never null outside drafts.
            Some(Planned {
                amount: Some(base),
                shape: Shape::NumericString,
            })
        } else {
            Some(Planned::number(base))
        };

        let sign_on_bonus = (full_time && self.chance(0.3)).then(|| {
            let v = if self.chance(0.04) {
                Decimal::ZERO
            } else {
                let step = self.rng.random_range(1..=5) * 5_000;
                usd(self, step, step)
            };
            self.shaped(v, true)
        });
        let rsu_p = if dept_name == "Engineering" {
            0.6
        } else {
            0.25
        };
        let rsu_grant_value = (full_time && self.chance(rsu_p)).then(|| {
            let v = usd(self, 20_000, 200_000);
            self.shaped(v, false)
        });
        let rsu_shares = match &rsu_grant_value {
            Some(Planned {
                amount: Some(v), ..
            }) if self.chance(0.35) => Some(Planned::number((*v / Decimal::from(25)).round())),
            None if full_time && self.chance(0.05) => Some(Planned::number(Decimal::from(
                self.rng.random_range(100..2000),
            ))),
            _ => None,
        };
        let annual_bonus_pct =
            (full_time && dept_name != "Sales" && self.chance(0.55)).then(|| {
                let pct = match LEVELS[plan.level].0 {
                    _ if self.chance(0.03) => 0,
                    Some("Staff") => 20,
                    Some("Senior") => 15,
                    _ => 10,
                };
                self.shaped(Decimal::from(pct), false)
            });
        let ote_commission = (full_time && dept_name == "Sales" && self.chance(0.9)).then(|| {
            let ratio = Decimal::new(self.rng.random_range(60..=100), 2);
            let v = round_decimal(base * ratio, plan.round_to);
            self.shaped(v, false)
        });
        let relocation = (full_time && self.chance(0.12)).then(|| {
            let v = if self.chance(0.05) {
                Decimal::ZERO
            } else {
                usd(self, 5_000, 15_000)
            };
            self.shaped(v, false)
        });

        let month = ["March", "May", "July", "September"]
            .choose(&mut self.rng)
            .expect("months");
        OfferTerms {
            job_posting,
            job_title: posting.text.clone(),
            requisition: requisition_field,
            candidate_name: person.name.clone(),
            salary,
            currency: posting.currency.clone(),
            interval: plan.interval,
            start_date: (!self.chance(0.05))
                .then(|| (created_at + self.rng.random_range(20..60) * DAY) / DAY * DAY),
            hiring_manager: (!self.chance(0.05)).then(|| posting.hiring_manager.clone()),
            sign_on_bonus,
            rsu_grant_value,
            rsu_shares,
            annual_bonus_pct,
            ote_commission,
            relocation,
            notes: self.chance(0.4).then(|| {
                format!(
                    "Spoke with {}; {} prefers a start in {month}.",
                    person.name,
                    person.first_name()
                )
            }),
            offer_type: self
                .chance(0.7)
                .then(|| catalog::OFFER_TYPES[self.weighted(&[85, 10, 5])].to_string()),
            preferred_name: self.chance(0.08).then(|| person.name.clone()),
        }
    }

    /// Base pay in the posting's interval.
    fn base_pay(&mut self, plan: &PostingPlan) -> Decimal {
        let annual = plan.annual * self.rng.random_range(0.92..1.08);
        match plan.interval {
            Interval::Year => Decimal::from(round_to(annual, plan.round_to) as i64),
            Interval::Month => {
                let step = if plan.round_to > 1000 { 1000 } else { 50 };
                Decimal::from(round_to(annual / 12.0, step) as i64)
            }
            Interval::Hour => {
                let quarters = (annual * 0.9 / 2080.0 * 4.0).round() as i64;
                Decimal::new(quarters * 25, 2)
            }
        }
    }

    /// Wraps an amount in a random value shape (number most of the time).
    fn shaped(&mut self, amount: Decimal, money_object: bool) -> Planned {
        let amount = Some(amount);
        let weights: &[u32] = if money_object {
            &[70, 10, 5, 15]
        } else {
            &[88, 8, 4, 0]
        };
        match self.weighted(weights) {
            0 => Planned {
                amount,
                shape: Shape::Number,
            },
            1 => Planned {
                amount,
                shape: Shape::NumericString,
            },
            2 => Planned {
                amount: None,
                shape: Shape::Number,
            },
            _ => Planned {
                amount,
                shape: Shape::MoneyObject,
            },
        }
    }

    fn offer(
        &mut self,
        ctx: &Ctx,
        status: OfferStatus,
        stamps: &[i64],
        terms: OfferTerms,
    ) -> Offer {
        let mut it = stamps.iter().copied();
        let created_at = it.next().unwrap_or(self.now);
        let approved_at = status.approved().then(|| it.next()).flatten();
        let sent_at = status.sent().then(|| it.next()).flatten();
        let opened_at = matches!(status, OfferStatus::Opened | OfferStatus::Signed)
            .then(|| it.next())
            .flatten();
        let signed_at = (status == OfferStatus::Signed).then(|| it.next()).flatten();
        Offer {
            id: self.uuid(),
            created_at,
            status,
            creator: self.any_user(ctx.users),
            approved_at,
            sent_at,
            signed_at,
            opened_at,
            string_created_at: self.chance(0.01),
            terms,
        }
    }

    /// Moves a few opportunities to the deleted list (about 0.5 %).
    fn pre_delete(&mut self, dataset: &mut Dataset) {
        let count = dataset.opportunities.len() / 200;
        let mut chosen: Vec<usize> = (0..count)
            .map(|_| self.rng.random_range(0..dataset.opportunities.len()))
            .collect();
        chosen.sort_unstable();
        chosen.dedup();

        // Remove from the back so earlier indexes stay valid.
        for &i in chosen.iter().rev() {
            let opportunity = dataset.opportunities.remove(i);
            let since = opportunity.updated_at.unwrap_or(opportunity.created_at);
            let deleted_at = self.rng.random_range(since..=self.now);
            let deleted_by = self.active_user(&dataset.users);
            dataset.deleted.push(DeletedOpportunity {
                opportunity,
                deleted_at,
                deleted_by,
            });
        }
        dataset.deleted.sort_by(|a, b| {
            (a.deleted_at, &a.opportunity.id).cmp(&(b.deleted_at, &b.opportunity.id))
        });
        dataset.reindex();
    }
}

/// Number of time-line events an offer with this status has (created, approved, ...).
fn offer_event_count(status: OfferStatus) -> usize {
    1 + usize::from(status.approved())
        + usize::from(status.sent())
        + usize::from(matches!(status, OfferStatus::Opened | OfferStatus::Signed))
        + usize::from(status == OfferStatus::Signed)
}

/// Cumulative event times starting at `start`, squeezed to end before `now`.
fn timeline(start: i64, now: i64, gaps: &[i64]) -> Vec<i64> {
    let total: i64 = gaps.iter().sum();
    let room = ((now - start) as f64 * 0.9).max(0.0);
    let scale = if total as f64 > room && total > 0 {
        room / total as f64
    } else {
        1.0
    };

    let mut t = start;
    let mut out = vec![start];
    for gap in gaps {
        t += ((*gap as f64 * scale) as i64).max(1);
        out.push(t.min(now));
    }
    out
}

/// A posting title from level, base title and commitment.
fn posting_title(level: Option<&str>, base: &str, commitment: &str) -> String {
    let prefixed = match level {
        Some(l @ ("Junior" | "Senior" | "Staff")) => format!("{l} {base}"),
        _ => base.to_string(),
    };
    match commitment {
        "Intern" => format!("{base} Intern"),
        "Part-time" => format!("{prefixed} (Part-time)"),
        "Contract" => format!("{prefixed} (Contract)"),
        _ => prefixed,
    }
}

/// Rounds to the nearest multiple of `step`.
fn round_to(v: f64, step: i64) -> f64 {
    (v / step as f64).round() * step as f64
}

/// Rounds a decimal to the nearest multiple of `step`.
fn round_decimal(v: Decimal, step: i64) -> Decimal {
    let step = Decimal::from(step);
    (v / step).round() * step
}

/// The requisition custom-field schema served by `/requisition_fields`.
fn requisition_fields() -> Vec<RequisitionField> {
    let pair = |id: &str, text: &str| (id.to_string(), text.to_string());
    vec![
        RequisitionField {
            id: "job_family".into(),
            text: "Job family".into(),
            kind: "text",
            required: true,
            options: Vec::new(),
            subfields: Vec::new(),
        },
        RequisitionField {
            id: "job_level".into(),
            text: "Job level".into(),
            kind: "dropdown",
            required: false,
            options: catalog::JOB_LEVEL_OPTIONS
                .iter()
                .map(|l| pair(&format!("level-{}", l.to_lowercase()), l))
                .collect(),
            subfields: Vec::new(),
        },
        RequisitionField {
            id: "work_location".into(),
            text: "Work location".into(),
            kind: "text",
            required: false,
            options: Vec::new(),
            subfields: Vec::new(),
        },
        RequisitionField {
            id: "cost_center".into(),
            text: "Cost center".into(),
            kind: "object",
            required: false,
            options: Vec::new(),
            subfields: vec![pair("code", "Code"), pair("city", "City")],
        },
    ]
}
