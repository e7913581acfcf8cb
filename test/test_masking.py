"""Unit tests of masking: which parts of a database URL are secrets, and how text and URLs hide them."""

from __future__ import annotations

from processor.masking import mask, shown_url, url_secrets
from processor.settings import parse_url


def test_url_secrets_are_the_password_and_secret_parameters_as_written_and_encoded():
    url = parse_url("postgresql://u:p%40ss%3Aw@h/db?password=a+b&sslmode=require&api_key=K1&AuthToken=T2")
    assert set(url_secrets(url)) == {"p@ss:w", "p%40ss%3Aw", "a b", "a%20b", "a+b", "K1", "T2"}


def test_shown_url_masks_the_password_and_secret_parameters():
    url = parse_url("postgres://u:p%40ss@h:5/db?sslpassword=S1&sslmode=require&client_secret=S2")
    assert (
        shown_url(url)
        == "postgresql+psycopg2://u:***@h:5/db?client_secret=***&sslmode=require&sslpassword=***"
    )


def test_mask_hides_the_longer_of_two_overlapping_secrets_whole():
    assert mask("pw=abc, key=abcdef", ["abc", "abcdef"]) == "pw=***, key=***"
