"""The demo: sample accounts, companies and a website's traffic, sent through ingest and the
pipeline the way a real site's visitors would be (``loader``), with the generated traffic in
``traffic``. It sits at the top of the stack beside the CLI because it drives the product
like a user does."""

from openfeeder.demo.loader import DEMO_EMAIL, DemoResult, load_demo

__all__ = ["DEMO_EMAIL", "DemoResult", "load_demo"]
