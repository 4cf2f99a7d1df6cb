"""`socksort im2rec PREFIX ROOT`: .lst -> .rec + .idx that MXNet's own readers accept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from socksort.im2rec import lists, pack


@pytest.fixture
def listed(cli, socks, tmp_path):
    cli("im2rec", "--list", "--recursive", "--train-ratio", "0.8", tmp_path / "socks", socks)
    return tmp_path / "socks"


def _pack(cli, prefix, root, *extra, size=512):
    return cli("im2rec", "--resize", size, "--center-crop", "--quality", "90", *extra, prefix, root)


def test_packed_records_round_trip_through_image_record_iter(cli, socks, listed):
    import mxnet as mx

    _pack(cli, listed, socks, "--num-thread", "2")
    expected = [float(label) for _, label, _ in
                (line.split("\t") for line in listed.with_name("socks_train.lst").read_text().splitlines())]
    batches = mx.io.ImageRecordIter(
        path_imgrec=str(listed.with_name("socks_train.rec")),
        path_imgidx=str(listed.with_name("socks_train.idx")),
        data_shape=(3, 512, 512), batch_size=4, shuffle=False, round_batch=False)
    seen = []
    for batch in batches:
        data = batch.data[0]
        assert data.shape[1:] == (3, 512, 512)
        real = data.shape[0] - batch.pad
        seen += batch.label[0].asnumpy()[:real].tolist()
    assert seen == expected


def test_records_hold_the_centre_square_scaled_to_the_requested_size(cli, socks, listed):
    import mxnet as mx

    _pack(cli, listed, socks)
    items = lists.read_list(listed.with_name("socks_val.lst"))
    reader = mx.recordio.MXIndexedRecordIO(str(listed.with_name("socks_val.idx")),
                                           str(listed.with_name("socks_val.rec")), "r")
    for item in items:
        header, image = mx.recordio.unpack_img(reader.read_idx(item.index))
        assert header.label == item.label and header.id == item.index
        assert image.shape == (512, 512, 3)
        source = cv2.imread(str(socks / item.path))  # 96x72: the centre square is columns 12-84
        expected = cv2.resize(source[:, 12:84], (512, 512))
        assert np.abs(image.astype(int) - expected.astype(int)).mean() < 6
    reader.close()


def test_record_order_follows_the_list_whatever_the_thread_count(cli, socks, listed, tmp_path):
    import mxnet as mx

    _pack(cli, listed, socks, "--num-thread", "3", size=64)
    order = [item.index for item in lists.read_list(listed.with_name("socks_train.lst"))]
    reader = mx.recordio.MXRecordIO(str(listed.with_name("socks_train.rec")), "r")
    ids = []
    while (record := reader.read()) is not None:
        ids.append(mx.recordio.unpack(record)[0].id)
    assert ids == order


def test_same_input_packs_to_identical_bytes_with_one_or_two_threads(cli, socks, listed):
    _pack(cli, listed, socks, "--num-thread", "1", size=128)
    first = listed.with_name("socks_train.rec").read_bytes()
    _pack(cli, listed, socks, "--num-thread", "2", size=128)
    assert listed.with_name("socks_train.rec").read_bytes() == first


def test_pass_through_stores_the_original_file_bytes(cli, socks, listed):
    import mxnet as mx

    cli("im2rec", "--pass-through", listed, socks)
    item = lists.read_list(listed.with_name("socks_val.lst"))[0]
    reader = mx.recordio.MXIndexedRecordIO(str(listed.with_name("socks_val.idx")),
                                           str(listed.with_name("socks_val.rec")), "r")
    _, payload = mx.recordio.unpack(reader.read_idx(item.index))
    assert payload == (socks / item.path).read_bytes()


def test_an_image_that_does_not_decode_is_skipped_and_counted(cli, socks_copy, tmp_path):
    cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy)
    victim = socks_copy / lists.read_list(tmp_path / "s.lst")[0].path
    victim.write_bytes(victim.read_bytes()[:4])  # still starts like a JPEG, but is cut off
    _, out, _ = cli("im2rec", "--resize", "64", tmp_path / "s", socks_copy)
    assert "packed 19 images" in out and "skipped 1 unreadable" in out


@pytest.mark.parametrize("mode", [[], ["--pass-through"]], ids=["decoded", "pass-through"])
def test_a_truncated_jpeg_is_skipped_counted_and_named(cli, socks_copy, tmp_path, truncated_jpeg, mode):
    cli("im2rec", "--list", "--recursive", tmp_path / "s", socks_copy)
    victim = lists.read_list(tmp_path / "s.lst")[0].path
    (socks_copy / victim).write_bytes(truncated_jpeg.read_bytes())
    _, out, err = cli("im2rec", "--resize", "64", *mode, tmp_path / "s", socks_copy)
    assert "packed 19 images" in out and "skipped 1 unreadable" in out
    assert f"socksort: note: skipped {victim}: unreadable (a truncated JPEG: it ends before its " \
           "end-of-image marker)" in err


def test_an_interrupted_pack_leaves_the_previous_files_and_no_temporaries(socks, listed, monkeypatch):
    opts = pack.PackOptions(resize=64)
    lst = listed.with_name("socks_train.lst")
    pack.pack_list(lst, socks, opts)
    before = {p.name: p.read_bytes() for p in listed.parent.iterdir()}
    real_encode, calls = pack.encode, []

    def interrupted(item, root, options):
        calls.append(item)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_encode(item, root, options)

    monkeypatch.setattr(pack, "encode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pack.pack_list(lst, socks, pack.PackOptions(resize=128))
    after = {p.name: p.read_bytes() for p in listed.parent.iterdir()}
    assert after == before


def test_packing_without_lists_says_to_make_them_first(run_cli, socks, tmp_path):
    result = run_cli("im2rec", tmp_path / "nothing", socks)
    assert result.returncode == 2
    assert "--list" in result.stderr.strip().splitlines()[-1]


def test_png_quality_out_of_range_is_rejected_before_writing(cli, socks, listed):
    status, _, err = cli("im2rec", "--encoding", ".png", "--quality", "95", listed, socks, check=False)
    assert status == 2
    assert "PNG compression" in err
    assert not listed.with_name("socks_train.rec").exists()


def test_several_label_columns_pack_as_a_label_vector_like_im2rec(cli, socks, tmp_path):
    import mxnet as mx

    photo = next((socks / "Blank").glob("*.jpg")).relative_to(socks).as_posix()
    (tmp_path / "multi.lst").write_text(f"0\t1.000000\t0.000000\t2.500000\t{photo}\n")
    cli("im2rec", "--resize", "32", tmp_path / "multi", socks)
    reader = mx.recordio.MXIndexedRecordIO(str(tmp_path / "multi.idx"), str(tmp_path / "multi.rec"), "r")
    header, _ = mx.recordio.unpack(reader.read_idx(0))
    assert list(header.label) == [1.0, 0.0, 2.5]


def test_a_folder_as_prefix_packs_every_list_in_it(cli, socks, tmp_path):
    lists_dir = tmp_path / "lists"
    cli("im2rec", "--list", "--recursive", "--train-ratio", "0.8", lists_dir / "socks", socks)
    _, out, _ = cli("im2rec", "--resize", "32", lists_dir, socks)
    assert sorted(p.name for p in lists_dir.glob("*.rec")) == ["socks_train.rec", "socks_val.rec"]
    assert out.count("packed") == 2
