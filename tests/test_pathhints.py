"""When most listed paths are missing, one line names the root, a path, the prefix and the fix."""

from curation.data.pathhints import missing_paths_hint


def _tree(root, rels):
    for r in rels:
        (root / r).mkdir(parents=True)


def test_a_prefix_from_another_machine_suggests_strip_prefix(tmp_path):
    root = tmp_path / "DFEW"
    _tree(root, ["Clip/clip_224x224/00001", "Clip/clip_224x224/00002"])
    listed = [f"/home/author/data/DFEW/Clip/clip_224x224/{i:05d}" for i in (1, 2, 3)]
    hint = missing_paths_hint(root, listed, total=3)
    assert f"3 of 3 listed paths are not found under the dataset root {root}" in hint
    assert "'/home/author/data/DFEW/Clip/clip_224x224/00001'" in hint
    assert "share the prefix '/home/author/data/DFEW/Clip/clip_224x224/'" in hint
    assert "--strip-prefix /home/author/data/DFEW/" in hint


def test_a_root_one_level_too_high_or_low_suggests_root(tmp_path):
    _tree(tmp_path / "data/videos", ["a/1", "a/2"])
    assert f"--root {tmp_path / 'data/videos'}" in missing_paths_hint(tmp_path / "data", ["a/1", "a/2"], total=2)
    assert f"--root {tmp_path / 'data/videos'}" in missing_paths_hint(tmp_path / "data/videos/a", ["a/1", "a/2"], 2)


def test_few_missing_paths_are_ordinary_problems(tmp_path):
    assert missing_paths_hint(tmp_path, ["x/1"], total=10) is None
    assert missing_paths_hint(tmp_path, ["x/1", "x/2", "x/3"], total=10) is None
