"""The sample frame read as counts (issue 12, a month's sample in under a second): each part's dossiers known by
their count per returned day and read only where drawn (samples.FramePart over the dossiers_frame index), the
sparse shuffle that reads only the members it draws, and the citizen's rules checked on the drawn dossiers only —
with the same sample as a draw over the whole frame read into lists."""
import random
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from monitor.surveys import samples, sampling

from .test_survey_sampling import add_dossiers, cases_of, options, settings_of

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


class Counted(Sequence):
    """A list that counts the members read."""

    def __init__(self, members):
        self.members, self.reads = list(members), 0

    def __len__(self):
        return len(self.members)

    def __getitem__(self, index):
        self.reads += 1
        return self.members[index]


def list_pick(members, count, rng, accept=None):
    """The shuffle as a whole list (what pick did before it was made sparse): the reference."""
    pool, chosen, refused = list(members), [], 0
    for i in range(len(pool)):
        if len(chosen) == count:
            break
        j = rng.randrange(i, len(pool))
        pool[i], pool[j] = pool[j], pool[i]
        if accept is None or accept(pool[i]):
            chosen.append(pool[i])
        else:
            refused += 1
    return chosen, refused


@pytest.mark.parametrize("seed", range(6))
def test_the_sparse_shuffle_draws_what_the_whole_list_shuffle_draws(seed):
    members = list(range(100, 400))
    for count in (0, 1, 7, 150, 300, 400):
        assert sampling.pick(members, count, random.Random(seed)) == list_pick(members, count, random.Random(seed))
    refuse = lambda d: d % 3 != 0  # noqa: E731
    assert sampling.pick(members, 40, random.Random(seed), refuse) == list_pick(members, 40, random.Random(seed),
                                                                                 refuse)


def test_the_shuffle_reads_only_the_members_it_draws():
    members = Counted(range(100_000))
    chosen, refused = sampling.pick(members, 5, random.Random(1))
    assert len(chosen) == 5 and refused == 0 and members.reads == 5
    members = Counted(range(100_000))
    chosen, refused = sampling.pick(members, 5, random.Random(1), accept=lambda d: d % 2 == 0)
    assert len(chosen) == 5 and members.reads == 5 + refused


def frame_rows(db):
    """(id, unit_id, level, late, returned_on) of every dossier that can be called, from the table itself."""
    return db.execute("SELECT id, unit_id, level, late, returned_on FROM dossiers WHERE erased_at IS NULL "
                      "AND phone IS NOT NULL AND phone != '' AND returned_on BETWEEN '2026-11-01' AND '2026-11-30'"
                      ).fetchall()


def whole_frame(db) -> sampling.Groups:
    """The frame read whole into lists, each part in (returned day, id) order."""
    groups: sampling.Groups = {}
    for dossier_id, unit_id, level, late, _day in sorted(frame_rows(db), key=lambda r: (r[4], r[0])):
        groups.setdefault((unit_id, level), {"late": [], "on_time": []})["late" if late else "on_time"].append(
            dossier_id)
    return groups


def several_days(db, units):
    """Dossiers of two units over several days, imported out of day order, some late, some without a number."""
    for k, day in enumerate(("2026-11-20", "2026-11-03", "2026-11-11", "2026-11-03", "2026-11-30", "2026-10-31")):
        add_dossiers(db, units["SYT"], 37, returned_on=day, late_every=4, start=100 * k)
        add_dossiers(db, units["XMA"], 11, level="locality", returned_on=day, late_every=3, start=1000 + 100 * k)
    with db.conn:
        db.conn.execute("UPDATE dossiers SET phone = NULL WHERE id % 17 = 0")
        db.conn.execute("UPDATE dossiers SET phone = NULL, applicant = '', erased_at = '2026-11-25T00:00:00Z' "
                        "WHERE id % 19 = 0")


def test_each_part_reads_its_dossiers_in_day_then_id_order(app, db, units):
    several_days(db, units)
    groups, expected = samples.frame(db, options()), whole_frame(db)
    assert set(groups) == set(expected) == {(units["SYT"], "province"), (units["XMA"], "locality")}
    for key, parts in expected.items():
        for part, ids in parts.items():
            frame_part = groups[key][part]
            assert len(frame_part) == len(ids)
            assert [frame_part[i] for i in range(len(ids))] == ids        # each read alone, then its day kept
            assert [frame_part[i] for i in reversed(range(len(ids)))] == ids[::-1]
            with pytest.raises(IndexError):
                frame_part[len(ids)]


def test_the_lazy_frame_draws_the_sample_a_frame_read_whole_would(app, db, units):
    several_days(db, units)
    whole = whole_frame(db)
    for seed in (1, 2, 3):
        lazy = samples.draw_sample(db, options(seed=str(seed), oversample_late="2", margin="0.1"), now=NOW,
                                   settings=settings_of(app), dry_run=True)
        cases, strata = sampling.draw(whole, seed=seed, margin=0.1, method="yamane", oversample=2.0)
        assert lazy["cases"] == cases and lazy["strata"] == strata
        assert lazy["frame_size"] == len(frame_rows(db))


def test_a_number_called_recently_is_refused_when_drawn_and_its_part_still_weighs_all_its_dossiers(app, db, units):
    add_dossiers(db, units["SYT"], 30)
    settings = settings_of(app)
    earlier = samples.draw_sample(db, options(budget="1", days="5"), now=NOW, settings=settings)  # 5 cases wait
    waiting = {c["dossier_id"] for c in earlier["cases"]}
    result = samples.draw_sample(db, options(), now=NOW, settings=settings)  # Yamane(30) = 28 of 30
    drawn = {c["dossier_id"] for c in result["cases"]}
    assert not drawn & waiting
    assert result["frame_size"] == 30 and result["size"] == 25 and result["excluded"]["recently_called"] == 5
    assert result["strata"][0]["parts"]["on_time"] == {"dossiers": 30, "cases": 25, "refused": 5}
    assert sum(c["weight"] for c in result["cases"]) == pytest.approx(30)
    assert len(cases_of(db, result["sample_id"])) == 25


@pytest.mark.parametrize("lookups", [0, 3])
def test_a_large_sample_reads_the_recent_numbers_once_and_draws_the_same(app, db, units, monkeypatch, lookups):
    add_dossiers(db, units["SYT"], 40, late_every=5)
    settings = settings_of(app)
    earlier = samples.draw_sample(db, options(budget="2", days="5"), now=NOW, settings=settings)  # 10 cases wait
    case_id = db.execute("SELECT id FROM survey_cases WHERE sample_id = ? ORDER BY id", [earlier["sample_id"]]
                         ).fetchone()[0]
    with db.conn:  # one of them was called and closed: its number is still left out, for the no-repeat days
        db.conn.execute("INSERT INTO survey_contacts (case_id, at, mode, disposition) VALUES (?, "
                        "'2026-11-28T02:00:00Z', 'operator', 'complete')", [case_id])
        db.conn.execute("UPDATE survey_cases SET state = 'closed' WHERE id = ?", [case_id])
    asked = samples.draw_sample(db, options(seed="5"), now=NOW, settings=settings, dry_run=True)
    monkeypatch.setattr(samples.RecentNumbers, "LOOKUPS", lookups)
    read_once = samples.draw_sample(db, options(seed="5"), now=NOW, settings=settings, dry_run=True)
    assert read_once["cases"] == asked["cases"] and read_once["excluded"] == asked["excluded"]
    assert asked["excluded"]["recently_called"] == 10


def test_a_frame_whose_every_citizen_waits_is_refused_and_writes_nothing(app, db, units):
    add_dossiers(db, units["SYT"], 4)
    settings = settings_of(app)
    samples.draw_sample(db, options(), now=NOW, settings=settings)  # all four drawn, their cases open
    with pytest.raises(samples.SampleError):
        samples.draw_sample(db, options(seed="9"), now=NOW, settings=settings)
    assert db.execute("SELECT count(*) FROM survey_samples").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM survey_cases").fetchone()[0] == 4


def test_the_frame_is_counted_from_the_index_alone(db):
    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + samples._DAYS, ["2026-11-01", "2026-11-30"]))
    assert "dossiers_frame" in plan and "TEMP B-TREE" not in plan  # groups in index order: nothing sorted
    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + samples._AT, ["2026-11-01", 1, "province", 0, 3]))
    assert "dossiers_frame (returned_on=? AND unit_id=? AND level=? AND late=?)" in plan
