"""relabel_dataset's one argument: a Relabelling, what changes in a finished build's configuration."""

from weaklabel.build import build_dataset
from weaklabel.config import resolve_build_config
from weaklabel.policies import default_band
from weaklabel.relabel import Relabelling, relabel_dataset

from .build_helpers import config_for


def test_a_relabelling_changes_only_what_it_names_and_a_policy_brings_its_band(tmp_path):
    source = config_for(tmp_path, policy="mean", neutral_band=0.3, split_fractions=(0.6, 0.2, 0.2))
    assert Relabelling().applied_to(source) == source
    assert Relabelling(neutral_band=0.1).applied_to(source).neutral_band == 0.1
    vader = Relabelling(policy="vader").applied_to(source)
    assert vader.policy == "vader" and vader.neutral_band is None  # declared: the new policy's own band ...
    assert resolve_build_config(vader).neutral_band == default_band("vader")  # ... once resolved
    assert vader.split_fractions == (0.6, 0.2, 0.2) and vader.clip_seconds == source.clip_seconds
    target = config_for(tmp_path, policy="vader", neutral_band=0.15, speakers="local", allow_empty_splits=True)
    assert Relabelling.to(target).applied_to(source) == target


def test_relabelling_in_place_or_into_another_folder_writes_the_same_bytes(small_mosei, tmp_path):
    build_dataset(config_for(small_mosei, policy="mean"), tmp_path / "src", workers=1)
    build_dataset(config_for(small_mosei, policy="mean"), tmp_path / "b", workers=1)
    into = relabel_dataset(tmp_path / "src", tmp_path / "a", Relabelling(policy="vader", neutral_band=0.1))
    in_place = relabel_dataset(tmp_path / "b", tmp_path / "b", Relabelling(policy="vader", neutral_band=0.1))
    assert into.config.policy == "vader" and into.config.neutral_band == 0.1
    for name in ("segments.parquet", "features/logmel.npy"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert into.fingerprint == in_place.fingerprint != relabel_dataset(
        tmp_path / "src", tmp_path / "c", Relabelling(policy="vader", neutral_band=0.2)).fingerprint
