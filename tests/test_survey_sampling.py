"""Drawing the customer-care sample (issue 12): sizes by formula against hand-worked values, strata, the call
budget's cap, over-sampling of late dossiers with unbiased weights, no citizen called twice, reproducible draws,
the do-not-call list, and `flask --app wsgi surveys sample`."""
import json
import random
from datetime import datetime, timezone

import pytest

from monitor.surveys import privacy, samples, sampling
from registry.errors import UserError

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
SECRET = "test-secret"


def add_dossiers(db, unit_id, count, *, level="province", returned_on="2026-11-10", late_every=0, start=0,
                 phone=None):
    """`count` dossiers of a unit returned on a day, each with its own phone (or the one given)."""
    rows = [(f"000.00.12.H19-261110-{unit_id:02d}{start + i:05d}", f"Công dân {start + i}",
             phone or f"09{unit_id:02d}{start + i:06d}", unit_id, level, returned_on,
             int(bool(late_every) and (start + i) % late_every == 0)) for i in range(count)]
    with db.conn:
        db.conn.executemany("INSERT INTO dossiers (code, applicant, phone, unit_id, level, returned_on, late) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def options(**changes):
    values = dict(seed="7", method="yamane", margin="0.05")
    values.update(changes)
    return samples.parse_options(values.pop("period_from", "2026-11-01"), values.pop("period_to", "2026-11-30"),
                                 **values)


def settings_of(app):
    return app.extensions["settings"]


def cases_of(db, sample_id):
    cursor = db.execute("SELECT dossier_id, unit_id, stratum, weight, questionnaire_id FROM survey_cases "
                        "WHERE sample_id = ? ORDER BY dossier_id", [sample_id])
    return [dict(zip([c[0] for c in cursor.description], row)) for row in cursor.fetchall()]


# ----------------------------------------------------------------------------------------------- sizes


def test_sizes_match_the_hand_worked_values():
    # Yamane: 1000 / (1 + 1000 × 0.05²) = 285.7 → 286; at ±10 %: 1000 / 11 = 90.9 → 91 (CARE-CALLS.md).
    assert sampling.yamane(1000, 0.05) == 286
    assert sampling.yamane(1000, 0.10) == 91
    # Cochran: n0 = 1.96² × 0.25 / 0.0025 = 384.16; with the correction 384.16 / (1 + 383.16 / 1000) = 277.7 → 278.
    assert sampling.cochran(1000, 0.05) == 278
    assert sampling.cochran(10**9, 0.05) == 385  # the correction vanishes for a huge frame: n0 rounded up
    # N = 100 at ±5 %: Yamane 100 / 1.25 = 80 exactly (no rounding up of float noise).
    assert sampling.yamane(100, 0.05) == 80
    assert sampling.size(1000, 0.05, "cochran") == 278 and sampling.size(1000, 0.05, "yamane") == 286


@pytest.mark.parametrize("population", [1, 2, 5, 10])
def test_a_small_unit_has_all_its_dossiers_drawn(population):
    assert sampling.yamane(population, 0.05) == population
    assert sampling.cochran(population, 0.05) == population
    assert sampling.yamane(0, 0.05) == sampling.cochran(0, 0.05) == 0


def test_apportion_brings_sizes_down_to_the_cap_in_proportion():
    shares = sampling.apportion({"a": 286, "b": 80, "c": 5}, 100)
    assert sum(shares.values()) == 100
    assert shares == {"a": 77, "b": 22, "c": 1}  # 77.09, 21.56, 1.35: the largest remainder goes to b
    assert sampling.apportion({"a": 3, "b": 4}, 10) == {"a": 3, "b": 4}  # under the cap: unchanged


# ---------------------------------------------------------------------------------------------- strata


def entries_of(counts: dict[tuple[int, str], tuple[int, int]]) -> list[tuple]:
    """(dossier_id, unit_id, level, late) with (late, on-time) dossiers per (unit, level), ids in order."""
    entries, next_id = [], 1
    for (unit_id, level), (late, on_time) in counts.items():
        for i in range(late + on_time):
            entries.append((next_id, unit_id, level, i < late))
            next_id += 1
    return entries


def frame_of(counts):
    return sampling.stratify(entries_of(counts))


def test_each_unit_and_level_is_a_stratum_sized_by_the_formula():
    frame = frame_of({(1, "province"): (0, 1000), (2, "locality"): (0, 100), (3, "locality"): (0, 4)})
    cases, strata = sampling.draw(frame, seed=1, margin=0.05, method="yamane")
    assert [(s["unit_id"], s["level"], s["frame"], s["size"]) for s in strata] == [
        (1, "province", 1000, 286), (2, "locality", 100, 80), (3, "locality", 4, 4)]
    by_unit = {}
    for case in cases:
        by_unit.setdefault(case["unit_id"], []).append(case)
    assert {u: len(c) for u, c in by_unit.items()} == {1: 286, 2: 80, 3: 4}
    assert all(c["stratum"] == f"{c['unit_id']}:{c['level']}:on_time" for c in cases)
    assert len({c["dossier_id"] for c in cases}) == len(cases)
    # Every case is drawn from its own stratum.
    units_of = {d: unit_id for d, unit_id, _level, _late in entries_of(
        {(1, "province"): (0, 1000), (2, "locality"): (0, 100), (3, "locality"): (0, 4)})}
    assert all(units_of[c["dossier_id"]] == c["unit_id"] for c in cases)


def test_the_budget_caps_the_total_and_shares_it_between_strata():
    frame = frame_of({(1, "province"): (0, 1000), (2, "locality"): (0, 100)})
    cases, strata = sampling.draw(frame, seed=1, margin=0.05, method="yamane", cap=100)
    assert len(cases) == 100
    assert [s["wanted"] for s in strata] == [286, 80]
    assert [s["size"] for s in strata] == [78, 22]  # 100 × 286/366 = 78.1, 100 × 80/366 = 21.9
    # Weights still add up to each stratum's dossiers.
    assert sum(c["weight"] for c in cases if c["unit_id"] == 1) == pytest.approx(1000)


# ----------------------------------------------------------------------------------------- over-sampling


def test_late_dossiers_are_oversampled_and_weights_add_up_to_the_frame():
    frame = frame_of({(1, "province"): (100, 900)})
    plain, _ = sampling.draw(frame, seed=3, margin=0.05, method="yamane")
    over, strata = sampling.draw(frame, seed=3, margin=0.05, method="yamane", oversample=3)
    late_plain = sum(c["stratum"].endswith(":late") for c in plain)
    late_over = sum(c["stratum"].endswith(":late") for c in over)
    assert late_plain == 29  # 286 × 100/1000 = 28.6: proportional
    assert late_over == 72   # 286 × 300/1200 = 71.5: three times the share
    assert len(over) == 286 and strata[0]["parts"] == {"late": {"dossiers": 100, "cases": 72, "refused": 0},
                                                       "on_time": {"dossiers": 900, "cases": 214, "refused": 0}}
    for part, dossiers in (("late", 100), ("on_time", 900)):
        assert sum(c["weight"] for c in over if c["stratum"].endswith(part)) == pytest.approx(dossiers)


def test_the_weighted_mean_of_a_known_population_comes_out_right():
    # Late dossiers' citizens are less satisfied (rating 2) than the others' (rating 5): the population mean is
    # (200 × 2 + 1800 × 5) / 2000 = 4.7. Over-sampling late ones pulls the plain mean down; weights undo it.
    counts = {(1, "province"): (150, 1350), (2, "locality"): (50, 450)}
    frame = frame_of(counts)
    value = {d: (2.0 if late else 5.0) for d, _unit, _level, late in entries_of(counts)}
    cases, _ = sampling.draw(frame, seed=11, margin=0.05, method="cochran", oversample=4)
    plain = sum(value[c["dossier_id"]] for c in cases) / len(cases)
    weighted = sum(c["weight"] * value[c["dossier_id"]] for c in cases) / sum(c["weight"] for c in cases)
    assert weighted == pytest.approx(4.7)
    assert plain < 4.5
    assert sum(c["weight"] for c in cases) == pytest.approx(2000)


def test_weighted_estimates_are_unbiased_over_many_draws():
    rng = random.Random(5)
    counts = {(1, "province"): (300, 700)}
    frame = frame_of(counts)
    value = {d: rng.randint(1, 3 if late else 5) for d, _unit, _level, late in entries_of(counts)}
    truth = sum(value.values()) / len(value)
    estimates = []
    for seed in range(200):
        cases, _ = sampling.draw(frame, seed=seed, margin=0.1, method="yamane", oversample=2.5)
        estimates.append(sum(c["weight"] * value[c["dossier_id"]] for c in cases) / sum(c["weight"] for c in cases))
    assert sum(estimates) / len(estimates) == pytest.approx(truth, abs=0.02)


def test_every_nonempty_part_gets_a_case_when_the_stratum_allows():
    assert sampling.split_parts(5, 1, 100, 1.0) == (1, 4)
    assert sampling.split_parts(5, 100, 1, 1.0) == (4, 1)
    assert sampling.split_parts(102, 2, 100, 3.0) == (2, 100)  # the whole stratum
    assert sampling.split_parts(3, 0, 10, 2.0) == (0, 3)


# ------------------------------------------------------------------------------------- the stored sample


def test_same_seed_same_sample_and_the_seed_is_recorded(app, db, units):
    add_dossiers(db, units["SYT"], 400, late_every=7)
    add_dossiers(db, units["XMA"], 60, level="locality", start=1000)
    settings = settings_of(app)
    first = samples.draw_sample(db, options(oversample_late="2"), now=NOW, settings=settings, dry_run=True)
    again = samples.draw_sample(db, options(oversample_late="2"), now=NOW, settings=settings, dry_run=True)
    other = samples.draw_sample(db, options(seed="8", oversample_late="2"), now=NOW, settings=settings, dry_run=True)
    assert first["cases"] == again["cases"]
    assert [c["dossier_id"] for c in first["cases"]] != [c["dossier_id"] for c in other["cases"]]
    assert db.execute("SELECT COUNT(*) FROM survey_samples").fetchone()[0] == 0  # dry runs write nothing

    stored = samples.draw_sample(db, options(oversample_late="2"), now=NOW, settings=settings)
    sample = samples.get_sample(db, stored["sample_id"])
    assert (sample["seed"], sample["method"], sample["margin"], sample["oversample_late"]) == (7, "yamane", 0.05, 2.0)
    assert sample["frame_size"] == 460 and sample["size"] == len(first["cases"])
    assert [s["size"] for s in sample["params"]["strata"]] == [200, 53]  # 400/2 and 60/1.15 = 52.2, rounded up
    rows = cases_of(db, stored["sample_id"])
    assert [(r["dossier_id"], r["stratum"], r["weight"]) for r in rows] == sorted(
        (c["dossier_id"], c["stratum"], c["weight"]) for c in first["cases"])
    assert all(r["questionnaire_id"] is None for r in rows)  # the built-in questionnaire until one is saved


def test_a_random_seed_is_drawn_and_recorded_when_none_is_given(app, db, units):
    add_dossiers(db, units["SYT"], 50)
    result = samples.draw_sample(db, options(seed=None), now=NOW, settings=settings_of(app))
    assert samples.get_sample(db, result["sample_id"])["seed"] == result["seed"] >= 0


def test_one_case_per_phone_and_erased_or_phoneless_dossiers_are_left_out(app, db, units):
    add_dossiers(db, units["SYT"], 3, phone="0987000111")          # one citizen, three dossiers
    add_dossiers(db, units["SYT"], 5, start=100)
    with db.conn:
        db.conn.execute("UPDATE dossiers SET phone = NULL WHERE code LIKE '%00100'")
        db.conn.execute("UPDATE dossiers SET phone = NULL, applicant = '', erased_at = '2026-11-20T00:00:00Z' "
                        "WHERE code LIKE '%00101'")
    result = samples.draw_sample(db, options(), now=NOW, settings=settings_of(app))
    assert result["frame_size"] == 6 and result["size"] == 4 and result["excluded"]["same_phone"] == 2
    phones = [db.execute("SELECT phone FROM dossiers WHERE id = ?", [c["dossier_id"]]).fetchone()[0]
              for c in result["cases"]]
    assert phones.count("0987000111") == 1 and None not in phones


def test_only_dossiers_returned_in_the_period_are_drawn(app, db, units):
    add_dossiers(db, units["SYT"], 10, returned_on="2026-10-31")
    add_dossiers(db, units["SYT"], 10, returned_on="2026-11-30", start=100)
    add_dossiers(db, units["SYT"], 10, returned_on="2026-12-01", start=200)
    add_dossiers(db, units["XMA"], 10, level="locality", returned_on="2026-11-01", start=300)  # a later import
    result = samples.draw_sample(db, options(), now=NOW, settings=settings_of(app), dry_run=True)
    assert result["frame_size"] == 20
    codes = {db.execute("SELECT returned_on FROM dossiers WHERE id = ?", [c["dossier_id"]]).fetchone()[0]
             for c in result["cases"]}
    assert codes == {"2026-11-30", "2026-11-01"}


def test_nobody_is_called_twice_within_the_no_repeat_period(app, db, units):
    add_dossiers(db, units["SYT"], 6, returned_on="2026-09-15")
    settings = settings_of(app)
    earlier = samples.draw_sample(db, options(period_from="2026-09-01", period_to="2026-09-30"), now=NOW,
                                  settings=settings)
    ids = [c["dossier_id"] for c in earlier["cases"]]
    assert len(ids) == 6
    # The same six citizens come back with dossiers in November.
    for dossier_id in ids:
        phone = db.execute("SELECT phone FROM dossiers WHERE id = ?", [dossier_id]).fetchone()[0]
        add_dossiers(db, units["SYT"], 1, start=500 + dossier_id, phone=phone)
    called = {ids[0]: "2026-11-20T02:00:00Z",   # called 11 days ago: left out
              ids[1]: "2026-08-01T02:00:00Z",   # called 122 days ago, beyond 90: may be called again
              ids[2]: "2026-09-03T02:00:00Z"}   # called 89 days ago: left out
    with db.conn:
        for dossier_id, at in called.items():
            case_id = db.execute("SELECT id FROM survey_cases WHERE dossier_id = ?", [dossier_id]).fetchone()[0]
            db.conn.execute("INSERT INTO survey_contacts (case_id, at, mode, disposition) VALUES (?, ?, 'operator', "
                            "'complete')", [case_id, at])
        # Cases 1–3 are closed; 4 and 5 closed without a call in the window; 6 still waits to be called.
        db.conn.execute("UPDATE survey_cases SET state = 'closed' WHERE dossier_id IN (?, ?, ?, ?, ?)", ids[:5])
    result = samples.draw_sample(db, options(), now=NOW, settings=settings)
    drawn_phones = {db.execute("SELECT phone FROM dossiers WHERE id = ?", [c["dossier_id"]]).fetchone()[0]
                    for c in result["cases"]}
    phone_of = {i: db.execute("SELECT phone FROM dossiers WHERE id = ?", [i]).fetchone()[0] for i in ids}
    assert drawn_phones == {phone_of[ids[1]], phone_of[ids[3]], phone_of[ids[4]]}
    assert result["excluded"]["recently_called"] == 3


def test_the_do_not_call_list_is_respected(app, db, units):
    add_dossiers(db, units["SYT"], 5)
    settings = settings_of(app)
    privacy.add_do_not_call(db, "0901000002", secret_key=settings.secret_key, now=NOW, reason="xin không gọi")
    result = samples.draw_sample(db, options(), now=NOW, settings=settings)
    assert result["excluded"]["do_not_call"] == 1 and result["size"] == 4
    phones = {db.execute("SELECT phone FROM dossiers WHERE id = ?", [c["dossier_id"]]).fetchone()[0]
              for c in result["cases"]}
    assert "0901000002" not in phones


@pytest.mark.parametrize("changes, field", [
    (dict(period_from="2026-13-01"), "from"),
    (dict(period_from="2026-11-30", period_to="2026-11-01"), "to"),
    (dict(method="random"), "method"),
    (dict(margin="0"), "margin"),
    (dict(margin="abc"), "margin"),
    (dict(margin="nan"), "margin"),
    (dict(seed="-1"), "seed"),
    (dict(seed="1.5"), "seed"),
    (dict(budget="0"), "budget"),
    (dict(days="400"), "days"),
    (dict(oversample_late="0.5"), "oversample_late"),
])
def test_bad_options_are_refused_naming_the_field(changes, field):
    with pytest.raises(UserError) as refused:
        options(**changes)
    assert refused.value.field == field


def test_an_empty_frame_is_refused_and_nothing_is_written(app, db, units):
    with pytest.raises(samples.SampleError):
        samples.draw_sample(db, options(), now=NOW, settings=settings_of(app))
    assert db.execute("SELECT COUNT(*) FROM survey_samples").fetchone()[0] == 0


# -------------------------------------------------------------------------------------------- the command


def test_cli_help_shows_an_example(runner):
    result = runner.invoke(args=["surveys", "sample", "--help"])
    assert result.exit_code == 0
    assert "Example: flask --app wsgi surveys sample --from" in result.output
    assert "--oversample-late" in result.output and "--dry-run" in result.output


def test_cli_draws_a_sample_with_the_budget_cap(runner, db, units):
    add_dossiers(db, units["SYT"], 1000, late_every=10)
    add_dossiers(db, units["XMA"], 100, level="locality", start=2000)
    result = runner.invoke(args=["surveys", "sample", "--from", "2026-11-01", "--to", "2026-11-30", "--seed", "42",
                                 "--budget", "10", "--days", "10", "--oversample-late", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["wanted"], data["cap"], data["capped"], data["size"]) == (366, 100, True, 100)
    sample = db.execute("SELECT seed, daily_budget, size, params FROM survey_samples").fetchone()
    assert sample[:3] == (42, 10, 100)
    assert json.loads(sample[3])["cap"] == 100
    assert db.execute("SELECT COUNT(*) FROM survey_cases").fetchone()[0] == 100

    text = runner.invoke(args=["surveys", "sample", "--from", "2026-11-01", "--to", "2026-11-30", "--dry-run"])
    assert text.exit_code == 0, text.output
    assert "Chạy thử, không ghi gì:" in text.output and "SYT Sở Y tế" in text.output
    assert db.execute("SELECT COUNT(*) FROM survey_samples").fetchone()[0] == 1


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-11-31", "--to", "2026-11-30"], "không hợp lệ"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--margin", "5"], "--margin"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--method", "bogus"], "yamane"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--budget", "abc"], "--budget"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--seed", "x"], "--seed"),
    (["--from", "2026-12-01", "--to", "2026-12-31"], "Không có hồ sơ"),
])
def test_cli_refuses_bad_arguments_with_a_clear_message_and_writes_nothing(runner, db, units, args, message):
    add_dossiers(db, units["SYT"], 20)
    result = runner.invoke(args=["surveys", "sample", *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert db.execute("SELECT COUNT(*) FROM survey_samples").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM survey_cases").fetchone()[0] == 0


def test_a_refused_dossier_is_replaced_by_the_next_one_drawn_reproducibly():
    import random as _random

    members = list(range(1, 101))
    plain, refused = sampling.pick(members, 10, _random.Random(4))
    assert refused == 0 and len(set(plain)) == 10
    odd_only, refused = sampling.pick(members, 10, _random.Random(4), accept=lambda d: d % 2 == 1)
    assert len(odd_only) == 10 and all(d % 2 for d in odd_only) and refused > 0
    assert [d for d in plain if d % 2] == odd_only[:len([d for d in plain if d % 2])]  # the same order of draws
    assert sampling.pick(members, 10, _random.Random(4), accept=lambda d: d % 2 == 1) == (odd_only, refused)
    everything, refused = sampling.pick([1, 2, 3], 3, _random.Random(1), accept=lambda d: d != 2)
    assert sorted(everything) == [1, 3] and refused == 1  # a part too small to replace: fewer cases


def test_a_do_not_call_number_leaves_the_sample_size_unchanged_when_others_can_take_its_place(app, db, units):
    add_dossiers(db, units["SYT"], 400)
    settings = settings_of(app)
    before = samples.draw_sample(db, options(), now=NOW, settings=settings, dry_run=True)
    first = db.execute("SELECT phone FROM dossiers WHERE id = ?", [before["cases"][0]["dossier_id"]]).fetchone()[0]
    privacy.add_do_not_call(db, first, secret_key=settings.secret_key, now=NOW)
    after = samples.draw_sample(db, options(), now=NOW, settings=settings, dry_run=True)
    assert after["size"] == before["size"] == 200 and after["excluded"]["do_not_call"] == 1
    assert before["cases"][0]["dossier_id"] not in {c["dossier_id"] for c in after["cases"]}
    assert sum(c["weight"] for c in after["cases"]) == pytest.approx(400)
