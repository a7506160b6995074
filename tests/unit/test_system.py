from pipeline.system import NOT_INSTALLED, library_versions, system_report


def test_report_describes_this_machine():
    report = system_report()
    assert report.cpu_model and report.logical_cores >= 1
    assert 0 < report.ram_available <= report.ram_total
    assert [status.name for status in report.engines] == ["cpu", "gpu"]
    if not report.gpus:
        assert report.gpu_query_error


def test_versions_cover_every_library():
    versions = library_versions()
    for library in (
        "Python",
        "pandas",
        "numpy",
        "pyarrow",
        "scikit-learn",
        "cuDF",
        "cuML",
        "CuPy",
        "Streamlit",
        "Altair",
        "polars",
        "DuckDB",
        "umap-learn",
        "PyTorch",
    ):
        assert versions[library]
    assert versions["pandas"].startswith("3.0")
    assert versions["Streamlit"] != NOT_INSTALLED


def test_versions_frame_is_tidy():
    frame = system_report().versions_frame()
    assert list(frame.columns) == ["library", "version"] and len(frame) == 14, "Python and 13 libraries"
