// musehub::s3's reading of S3's XML answers (backends/s3/include/musehub/s3/detail/responses.hpp
// and detail/xml.hpp), without a server: ListObjectsV2 pages (ListBucketResult) as AWS and
// MinIO send them, with and without encoding-type=url, truncated with a continuation token, and
// empty; S3 error documents; DeleteObjects results (DeleteResult) with per-key errors; XML
// entities and character references; and what the reader does with malformed or cut-off
// documents (errc::io "S3 sent malformed XML", or, for an error document, no details at all).
#include "test_support.hpp"

#include "musehub/s3/detail/call.hpp"
#include "musehub/s3/detail/responses.hpp"
#include "musehub/s3/detail/text.hpp"
#include "musehub/s3/detail/xml.hpp"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using musehub::errc;
namespace detail = musehub::s3::detail;
namespace xml = musehub::s3::detail::xml;
using Keys = std::vector<std::string>;

namespace {

// A ListObjectsV2 page as AWS sends it (one line, xmlns on the root, ETags quoted with
// &quot;), under encoding-type=url; `contents` is the <Contents> elements, `tail` what follows
// them (IsTruncated, tokens).
std::string aws_list_page(const std::string& contents, const std::string& tail) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<Name>musehub-test</Name><Prefix>hub-a%2F</Prefix><KeyCount>3</KeyCount>"
           "<MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType>" +
           tail + contents + "</ListBucketResult>";
}

std::string aws_contents(const std::string& key, int size) {
    return "<Contents><Key>" + key +
           "</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified>"
           "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><ChecksumAlgorithm>"
           "CRC64NVME</ChecksumAlgorithm><Size>" +
           std::to_string(size) + "</Size><StorageClass>STANDARD</StorageClass></Contents>";
}

std::string malformed_message(std::string_view doc) {
    return test::require_error(errc::io, [&] { detail::parse_list_page(doc); });
}

} // namespace

TEST_CASE("s3 xml: an AWS ListObjectsV2 page with several keys, URL-encoded", "[s3][xml]") {
    auto doc = aws_list_page(aws_contents("hub-a%2Fobjects%2Fab%2Fcdef", 1024) +
                                 aws_contents("hub-a%2Fpacks%2Fmy+pack%2B1.pack", 7) +
                                 aws_contents("hub-a%2Frefs%2F100%25%E2%9C%93", 0),
                             "<IsTruncated>false</IsTruncated>");
    auto page = detail::parse_list_page(doc);
    // '+' is a space, %2B a plus, %25 a percent sign; multi-byte UTF-8 comes back whole.
    CHECK(page.keys == Keys{"hub-a/objects/ab/cdef", "hub-a/packs/my pack+1.pack",
                            "hub-a/refs/100%\xE2\x9C\x93"});
    CHECK_FALSE(page.truncated);
    CHECK_FALSE(page.next_token.has_value());
}

TEST_CASE("s3 xml: keys are URL-decoded only when the page says EncodingType url", "[s3][xml]") {
    // A server that ignores encoding-type=url sends keys raw: '+' and '%' are themselves.
    std::string raw = "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
                      "<Contents><Key>a+b%2Fc</Key><Size>1</Size></Contents></ListBucketResult>";
    CHECK(detail::parse_list_page(raw).keys == Keys{"a+b%2Fc"});

    std::string encoded = "<ListBucketResult><EncodingType>url</EncodingType>"
                          "<Contents><Key>a+b%2Fc</Key></Contents></ListBucketResult>";
    CHECK(detail::parse_list_page(encoded).keys == Keys{"a b/c"});
}

TEST_CASE("s3 xml: XML entities and character references in keys are decoded", "[s3][xml]") {
    std::string doc = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                      "<Contents><Key>r&amp;d/notes.txt</Key></Contents>"
                      "<Contents><Key>&lt;tag&gt; &quot;q&quot; &apos;s&apos;</Key></Contents>"
                      "<Contents><Key>tab&#9;lf&#10;cr&#13;</Key></Contents>"
                      "<Contents><Key>&#x41;&#66;&#xe9;&#x1F600;</Key></Contents>"
                      "</ListBucketResult>";
    CHECK(detail::parse_list_page(doc).keys ==
          Keys{"r&d/notes.txt", "<tag> \"q\" 's'", "tab\tlf\ncr\r", "AB\xC3\xA9\xF0\x9F\x98\x80"});
}

TEST_CASE("s3 xml: a MinIO page, pretty-printed, keeps key order and whitespace", "[s3][xml]") {
    std::string doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                      "  <Name>musehub</Name>\n  <Prefix></Prefix>\n  <KeyCount>2</KeyCount>\n"
                      "  <MaxKeys>1000</MaxKeys>\n  <IsTruncated>false</IsTruncated>\n"
                      "  <Contents>\n    <Key>z/last</Key>\n    <Size>3</Size>\n"
                      "    <Owner>\n      <ID>02d6176db174dc93cb1b899f7c6078f0</ID>\n"
                      "      <DisplayName>minio</DisplayName>\n    </Owner>\n  </Contents>\n"
                      "  <Contents >\n    <Key> a key with spaces </Key>\n  </Contents>\n"
                      "</ListBucketResult>\n";
    auto page = detail::parse_list_page(doc);
    CHECK(page.keys == Keys{"z/last", " a key with spaces "}); // the answer's order, unsorted
    CHECK_FALSE(page.truncated);
}

TEST_CASE("s3 xml: a truncated page gives its NextContinuationToken", "[s3][xml]") {
    std::string token = "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=";
    auto doc = aws_list_page(aws_contents("k1", 1) + aws_contents("k2", 2),
                             "<IsTruncated>true</IsTruncated><ContinuationToken>prev"
                             "</ContinuationToken><NextContinuationToken>" +
                                 token + "</NextContinuationToken>");
    auto page = detail::parse_list_page(doc);
    CHECK(page.keys == Keys{"k1", "k2"});
    CHECK(page.truncated);
    REQUIRE(page.next_token.has_value());
    CHECK(*page.next_token == token); // not <ContinuationToken>, the one this page was asked with

    SECTION("a token with entities is decoded") {
        auto p = detail::parse_list_page(
            "<ListBucketResult><IsTruncated>true</IsTruncated>"
            "<NextContinuationToken>a&amp;b&#x2B;c</NextContinuationToken></ListBucketResult>");
        CHECK(p.next_token == std::optional<std::string>("a&b+c"));
    }
    SECTION("truncated without a token: none (list() then fails)") {
        auto p = detail::parse_list_page(
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
        CHECK(p.truncated);
        CHECK_FALSE(p.next_token.has_value());
    }
    SECTION("an empty token element: an empty token (list() then fails)") {
        auto p = detail::parse_list_page("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                         "<NextContinuationToken/></ListBucketResult>");
        CHECK(p.next_token == std::optional<std::string>(""));
    }
    SECTION("a token on a page that is not truncated is not read") {
        auto p = detail::parse_list_page("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                         "<NextContinuationToken>t</NextContinuationToken>"
                                         "</ListBucketResult>");
        CHECK_FALSE(p.truncated);
        CHECK_FALSE(p.next_token.has_value());
    }
    SECTION("only the word true means truncated") {
        auto p = detail::parse_list_page("<ListBucketResult><IsTruncated>TRUE</IsTruncated>"
                                         "<NextContinuationToken>t</NextContinuationToken>"
                                         "</ListBucketResult>");
        CHECK_FALSE(p.truncated);
    }
}

TEST_CASE("s3 xml: empty list results", "[s3][xml]") {
    // AWS: KeyCount 0 and no <Contents> at all.
    auto aws = detail::parse_list_page(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>musehub-test</Name><Prefix>"
        "hub-a%2Fnothing%2F</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>"
        "url</EncodingType><IsTruncated>false</IsTruncated></ListBucketResult>");
    CHECK(aws.keys.empty());
    CHECK_FALSE(aws.truncated);
    // A self-closing root.
    CHECK(detail::parse_list_page("<ListBucketResult/>").keys.empty());
    // A body that is no ListBucketResult at all (empty, or a proxy's HTML) is an error, not an
    // empty page: read as one, every key would look absent.
    for (std::string_view doc : {"", "<html><body>OK</body></html>"})
        CHECK_THAT(malformed_message(doc),
                   Catch::Matchers::Contains("a listing answer without <ListBucketResult>"));
}

TEST_CASE("s3 xml: <KeyCount> is not <Key>, <ContentsX> is not <Contents>", "[s3][xml]") {
    std::string doc = "<ListBucketResult><KeyCount>1</KeyCount><Contents><KeyMarker>m"
                      "</KeyMarker><Key>real</Key></Contents></ListBucketResult>";
    CHECK(xml::first(doc, "Key") == std::optional<std::string>("real"));
    CHECK(detail::parse_list_page(doc).keys == Keys{"real"});
    CHECK_FALSE(xml::first("<ContentsX>a</ContentsX>", "Contents").has_value());
}

TEST_CASE("s3 xml: malformed and cut-off list pages are errc::io", "[s3][xml]") {
    using Catch::Matchers::Contains;
    auto full = aws_list_page(aws_contents("k1", 1) + aws_contents("k2", 2),
                              "<IsTruncated>false</IsTruncated>");

    SECTION("cut inside a <Contents>") {
        auto cut = full.substr(0, full.rfind("<Size>"));
        auto msg = malformed_message(cut);
        CHECK_THAT(msg, Contains("S3 sent malformed XML: an unclosed <Contents>"));
    }
    SECTION("cut right after an element's name") {
        auto cut = full.substr(0, full.rfind("<Contents") + 9);
        CHECK_THAT(malformed_message(cut), Contains("a document that ends inside a tag"));
    }
    SECTION("cut inside a start tag") {
        auto cut = full.substr(0, full.rfind("<Contents") + 9) + " ";
        CHECK_THAT(malformed_message("<ListBucketResult><Contents xmlns=\"x"),
                   Contains("an unterminated tag"));
        CHECK_THAT(malformed_message(cut), Contains("an unterminated tag"));
    }
    SECTION("cut inside <IsTruncated>") {
        auto cut = full.substr(0, full.find("<IsTruncated>") + 15);
        CHECK_THAT(malformed_message(cut), Contains("an unclosed <IsTruncated>"));
    }
    SECTION("a <Contents> without <Key>") {
        CHECK_THAT(malformed_message("<ListBucketResult><Contents><Size>1</Size></Contents>"
                                     "</ListBucketResult>"),
                   Contains("<Contents> without <Key>"));
    }
    SECTION("bad entities and character references in a key") {
        auto in_key = [](const std::string& key) {
            return malformed_message("<ListBucketResult><Contents><Key>" + key +
                                     "</Key></Contents></ListBucketResult>");
        };
        CHECK_THAT(in_key("a&nbsp;b"), Contains("an unknown entity"));
        CHECK_THAT(in_key("a&b"), Contains("an unterminated entity"));
        CHECK_THAT(in_key("a&amp"), Contains("an unterminated entity"));
        CHECK_THAT(in_key("&#;"), Contains("an unknown entity"));
        CHECK_THAT(in_key("&#x;"), Contains("an empty character reference"));
        CHECK_THAT(in_key("&#12a;"), Contains("a bad character reference"));
        CHECK_THAT(in_key("&#x110000;"), Contains("a character reference past U+10FFFF"));
        CHECK_THAT(in_key("&#0;"), Contains("a character reference to NUL or a surrogate"));
        CHECK_THAT(in_key("&#xD800;"), Contains("a character reference to NUL or a surrogate"));
    }
    SECTION("a bad percent escape in a URL-encoded key") {
        for (std::string key : {"a%zz", "a%4", "a%"}) {
            auto msg = malformed_message("<ListBucketResult><EncodingType>url</EncodingType>"
                                         "<Contents><Key>" +
                                         key + "</Key></Contents></ListBucketResult>");
            CHECK_THAT(msg, Contains("S3 sent a URL-encoded key with a bad escape: '" + key));
        }
    }
    SECTION("the message shows where, printable and bounded") {
        std::string junk(200, 'x');
        auto msg = malformed_message("<ListBucketResult><Contents><Key>\x01" + junk);
        CHECK_THAT(msg, Contains("near '<Contents><Key>\\x01xxx"));
        CHECK(msg.size() < 200);
    }
}

TEST_CASE("s3 xml: S3 error documents", "[s3][xml]") {
    SECTION("AWS NoSuchKey") {
        auto e = detail::parse_error_document(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>"
            "The specified key does not exist.</Message><Key>hub-a/objects/ab</Key><RequestId>"
            "4442587FB7D0A2F9</RequestId><HostId>Yml0ZXM=</HostId></Error>");
        CHECK(e.code == "NoSuchKey");
        CHECK(e.message == "The specified key does not exist.");
        CHECK(e.extra.empty());
    }
    SECTION("a redirect names the endpoint") {
        auto e = detail::parse_error_document(
            "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to "
            "access must be addressed using the specified endpoint.</Message><Endpoint>"
            "musehub-test.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>musehub-test</Bucket>"
            "</Error>");
        CHECK(e.code == "PermanentRedirect");
        CHECK(e.extra == " (endpoint musehub-test.s3.eu-west-1.amazonaws.com)");
    }
    SECTION("entities in the message are decoded") {
        auto e = detail::parse_error_document(
            "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
            "calculated does not match the signature you provided. Check your key &amp; "
            "signing method.</Message><StringToSign>AWS4-HMAC-SHA256&#10;20130524T000000Z"
            "</StringToSign></Error>");
        CHECK(e.code == "SignatureDoesNotMatch");
        CHECK(e.message == "The request signature we calculated does not match the signature "
                           "you provided. Check your key & signing method.");
    }
    SECTION("no error document: nothing") {
        for (std::string_view doc : {"", "<html><body>502 Bad Gateway</body></html>",
                                     "<ListBucketResult><Code>x</Code></ListBucketResult>"}) {
            auto e = detail::parse_error_document(doc);
            CHECK(e.code.empty());
            CHECK(e.message.empty());
            CHECK(e.extra.empty());
        }
    }
    SECTION("a garbled document: what was read before the damage, and no exception") {
        auto bad_message = detail::parse_error_document(
            "<Error><Code>SlowDown</Code><Message>Reduce your rate &bogus;</Message></Error>");
        CHECK(bad_message.code == "SlowDown");
        CHECK(bad_message.message.empty());
        auto cut = detail::parse_error_document("<Error><Code>InternalErr");
        CHECK(cut.code.empty());
        CHECK(cut.message.empty());
    }
}

TEST_CASE("s3 xml: a failed call's message names method, subject, status, Code and Message",
          "[s3][xml]") {
    detail::Call c;
    c.method = detail::Method::put;
    c.subject = "packs/ab/cd";
    c.status = 403;
    c.response = musehub::to_bytes(
        "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
        "calculated does not match</Message></Error>");
    CHECK(detail::parse_error(c).code == "SignatureDoesNotMatch");
    CHECK(detail::describe_status(c) ==
          "S3 PUT packs/ab/cd: 403 SignatureDoesNotMatch: The request signature we calculated "
          "does not match");

    c.method = detail::Method::head;
    c.status = 404;
    c.response.clear();
    CHECK(detail::describe_status(c) ==
          "S3 HEAD packs/ab/cd: 404 (HEAD answers carry no error details)");
    c.method = detail::Method::get;
    c.status = 502;
    c.response = musehub::to_bytes("<html>Bad Gateway</html>");
    CHECK(detail::describe_status(c) ==
          "S3 GET packs/ab/cd: 502 (no S3 error document in the answer)");
}

TEST_CASE("s3 xml: DeleteObjects results", "[s3][xml]") {
    auto errors_of = [](std::string_view doc) {
        std::vector<detail::DeleteError> out;
        std::size_t at = 0;
        while (auto e = detail::next_delete_error(doc, at))
            out.push_back(*e);
        return out;
    };

    SECTION("per-key errors, in order, with Deleted entries skipped") {
        auto errors = errors_of(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>hub-a/a</Key>"
            "</Deleted><Error><Key>hub-a/b&amp;c</Key><Code>AccessDenied</Code><Message>Access "
            "Denied</Message></Error><Error><Key>hub-a/d</Key><Code>SlowDown</Code><Message>"
            "Please reduce your request rate.</Message></Error><Error><Key>hub-a/e</Key><Code>"
            "NoSuchKey</Code></Error></DeleteResult>");
        REQUIRE(errors.size() == 3);
        CHECK(errors[0].key == "hub-a/b&c");
        CHECK(errors[0].code == "AccessDenied");
        CHECK(errors[0].message == "Access Denied");
        CHECK(errors[1].key == "hub-a/d");
        CHECK(errors[1].code == "SlowDown");
        CHECK(errors[1].message == "Please reduce your request rate.");
        CHECK(errors[2].key == "hub-a/e");
        CHECK(errors[2].code == "NoSuchKey");
        CHECK(errors[2].message.empty()); // no <Message>: empty
    }
    SECTION("a quiet answer with nothing to report") {
        CHECK(errors_of("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                        "</DeleteResult>")
                  .empty());
        CHECK(
            errors_of("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>").empty());
    }
    SECTION("one error at a time: an error read before the damage is returned") {
        std::string doc = "<DeleteResult><Error><Key>k1</Key><Code>AccessDenied</Code></Error>"
                          "<Error><Key>k2</Key><Code>Internal";
        std::size_t at = 0;
        auto first = detail::next_delete_error(doc, at);
        REQUIRE(first.has_value());
        CHECK(first->key == "k1");
        auto msg = test::require_error(errc::io, [&] { detail::next_delete_error(doc, at); });
        CHECK_THAT(msg, Catch::Matchers::Contains("an unclosed <Error>"));
    }
}

TEST_CASE("s3 xml: escape writes what unescape reads; control characters cannot be written",
          "[s3][xml]") {
    std::string key = "a&b<c>\"d'e\tf\ng\rh/\xC3\xA9";
    auto escaped = xml::escape(key);
    REQUIRE(escaped.has_value());
    CHECK(*escaped == "a&amp;b&lt;c&gt;&quot;d&apos;e&#9;f&#10;g&#13;h/\xC3\xA9");
    CHECK(xml::unescape(*escaped) == key);
    CHECK_FALSE(xml::escape(std::string("a\x01") + "b").has_value());
    CHECK_FALSE(xml::escape(std::string("a\0b", 3)).has_value());
    CHECK(xml::escape("") == std::optional<std::string>(""));
}
