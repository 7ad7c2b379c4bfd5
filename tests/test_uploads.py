"""Uploads are kept where the run store's tidying expires them, and uploading the same file
again starts its expiry over (issue 11)."""

from __future__ import annotations

import os
import time

from dashboard import datasets
from mtlcore.runs import RunStore
from mtlcore.runs._hygiene import DAY, UPLOAD_DAYS, tidy
from mtlcore.runs._hygiene import uploads_dir as hygiene_uploads_dir

CSV = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 3) for i in range(30))


def test_a_reupload_resets_the_expiry(mtl_studio_home):
    path, _ = datasets.save_upload(CSV, "a.csv")
    assert os.path.dirname(path) == str(hygiene_uploads_dir(mtl_studio_home))
    old = time.time() - (UPLOAD_DAYS + 1) * DAY
    os.utime(path, (old, old))  # uploaded 15 days ago, used by no run
    again, _ = datasets.save_upload(CSV, "a copy.csv")  # the same bytes, uploaded today
    assert again == path and os.path.getmtime(path) > old + DAY
    assert tidy(RunStore(mtl_studio_home)).uploads == []  # not expired
    os.utime(path, (old, old))
    assert [p.name for p in tidy(RunStore(mtl_studio_home)).uploads] == [os.path.basename(path)]
