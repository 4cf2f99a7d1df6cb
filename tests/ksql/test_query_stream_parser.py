"""The /query-stream response parser, fed the byte format ksqlDB documents (SEMANTICS.md §9)."""

import pytest

from socksort.ksql.client import Header, QueryError, QueryStreamParser, Row, rows_as_dicts, writers_from_listing

BODY = (b'{"queryId":"transient_SOCK_PAIRS_1","columnNames":["IMAGE","PAIR_SEEN","NUMBER_SOCKS_SEEN"],'
        b'"columnTypes":["STRING","STRING","BIGINT"]}\n'
        b'["Google","Un-matched",1]\n'
        b'\n'  # a keep-alive
        b'["Google","Pair",2]\n')


def test_header_then_rows():
    parser = QueryStreamParser()
    events = parser.feed(BODY)
    assert events == [Header("transient_SOCK_PAIRS_1", ("IMAGE", "PAIR_SEEN", "NUMBER_SOCKS_SEEN"),
                             ("STRING", "STRING", "BIGINT")),
                      Row(("Google", "Un-matched", 1)), Row(("Google", "Pair", 2))]
    assert rows_as_dicts(parser.header, events[2]) == {"IMAGE": "Google", "PAIR_SEEN": "Pair",
                                                       "NUMBER_SOCKS_SEEN": 2}


@pytest.mark.parametrize("size", [1, 2, 7, 64])
def test_chunks_split_anywhere_give_the_same_events(size):
    parser = QueryStreamParser()
    events = []
    for start in range(0, len(BODY), size):
        events += parser.feed(BODY[start:start + size])
    events += parser.finish()
    assert events == QueryStreamParser().feed(BODY)


def test_a_last_line_without_newline_counts_when_the_body_ends():
    parser = QueryStreamParser()
    assert len(parser.feed(BODY + b'["Mongo","Un-matched",1]')) == 3
    assert parser.finish() == [Row(("Mongo", "Un-matched", 1))]


def test_an_error_object_in_the_stream_raises_with_the_servers_message_and_code():
    parser = QueryStreamParser()
    parser.feed(BODY)
    with pytest.raises(QueryError, match="SOCK_PAIRS does not exist") as caught:
        parser.feed(b'{"@type":"generic_error","error_code":40001,"message":"SOCK_PAIRS does not exist"}\n')
    assert caught.value.code == 40001


def test_a_row_before_the_header_is_an_error_not_a_guess():
    with pytest.raises(QueryError, match="before the header"):
        QueryStreamParser().feed(b'["Google","Pair",2]\n')


def test_garbage_is_reported_with_the_offending_text():
    with pytest.raises(QueryError, match="unreadable line"):
        QueryStreamParser().feed(b"<html>proxy error</html>\n")


def test_the_query_writing_each_table_is_read_from_show_queries():
    answer = [{"@type": "queries", "statementText": "SHOW QUERIES;", "warnings": [], "queries": [
        {"queryString": "CREATE TABLE SOCK_SHOWINGS ...", "sinks": ["SOCK_SHOWINGS"], "id": "CTAS_SOCK_SHOWINGS_6"},
        {"queryString": "CREATE TABLE SOCK_PAIRS ...", "sinks": ["SOCK_PAIRS"], "id": "CTAS_SOCK_PAIRS_7"},
        {"queryString": "CREATE TABLE SOCK_VOTES ...", "sinks": ["SOCK_VOTES"], "id": "CTAS_SOCK_VOTES_5"}]}]
    assert writers_from_listing(answer, ("SOCK_PAIRS", "SOCK_SHOWINGS")) == {
        "SOCK_PAIRS": "CTAS_SOCK_PAIRS_7", "SOCK_SHOWINGS": "CTAS_SOCK_SHOWINGS_6"}
    assert writers_from_listing([{"queries": []}], ("SOCK_PAIRS",)) == {}
