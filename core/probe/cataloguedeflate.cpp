// The permessage-deflate cases: all of Autobahn's 12.* and 13.* (same ids, sizes,
// counts, offers and timeouts as its case12_x_x.py and case13_x_x.py), and D.* of
// our own (RSV1 misuse).
#include "probe/catalogue.h"
#include "probe/cataloguehelpers.h"

#include <QMutex>

#include <cctype>

namespace ws::probe {

namespace {

constexpr quint8 Cont = 0x0, Text = 0x1, Ping = 0x9;

// A deterministic stream of numbers: the data sets are the same on every run and
// every machine, so a report names exactly what was sent.
class Lcg {
public:
    explicit Lcg(quint32 seed)
        : m_state(seed) {}
    quint32 next() {
        m_state = m_state * 1103515245u + 12345u;
        return m_state >> 8;
    }
    quint32 below(quint32 bound) { return next() % bound; }

private:
    quint32 m_state;
};

QByteArray word(Lcg &random) {
    static const QList<QByteArray> words = {
        "the",     "of",       "and",      "socket",  "frame",  "message", "server",    "client",
        "window",  "context",  "close",    "payload", "header", "stream",  "Faust",     "night",
        "study",   "spirit",   "morning",  "world",   "again",  "light",   "through",   "which",
        "without", "Gretchen", "Mephisto", "Wagner",  "heaven", "earth",   "knowledge", "spring"};
    return words.at(random.below(words.size()));
}

// Prose: words from a small vocabulary in sentences and paragraphs (ASCII, so that
// any slice of it is valid UTF-8).
QByteArray prose(Lcg &random, qint64 size) {
    QByteArray out;
    out.reserve(size + 16);
    while (out.size() < size) {
        QByteArray sentence = word(random);
        sentence[0] = char(std::toupper(uchar(sentence[0])));
        for (quint32 n = 4 + random.below(12); n > 0; --n)
            sentence += ' ' + word(random);
        out += sentence + (random.below(6) == 0 ? ".\n\n" : ". ");
    }
    out.truncate(size);
    return out;
}

// Pads `out` to exactly `size` bytes with a filler inside a string literal and the
// closing `tail`, so that the document stays well-formed.
QByteArray closeAt(QByteArray out, qint64 size, const QByteArray &head, const QByteArray &tail) {
    const qint64 fill = std::max<qint64>(0, size - out.size() - head.size() - tail.size());
    out += head + QByteArray(fill, 'x') + tail;
    out.truncate(size);
    return out;
}

// A JSON array of records, like Autobahn's "Large JSON data file".
QByteArray jsonData(qint64 size) {
    Lcg random(194237);
    QByteArray out = "[\n";
    for (int id = 1; out.size() < size - 512; ++id) {
        out += "  {\"id\": " + QByteArray::number(id) + ", \"name\": \"" + word(random) + ' ' +
               word(random) + "\", \"active\": " + (random.below(2) ? "true" : "false") +
               ", \"score\": " + QByteArray::number(random.below(100000) / 100.0, 'f', 2) +
               ", \"tags\": [\"" + word(random) + "\", \"" + word(random) + "\"], \"text\": \"" +
               prose(random, 40 + random.below(120)).replace('\n', ' ') + "\"},\n";
    }
    return closeAt(out, size, "  {\"id\": 0, \"padding\": \"", "\"}\n]\n");
}

// An 8-bit grey-scale BMP of 512x512 (headers, 256-entry palette, pixels: 54 + 1024
// + 262144 bytes) whose pixels are black or white in long runs, like Autobahn's
// "Lena Picture, Bitmap 512x512 bw".
QByteArray bitmapData(qint64 size) {
    constexpr int Side = 512;
    QByteArray out;
    auto le = [&out](quint32 value, int bytes) {
        for (int i = 0; i < bytes; ++i)
            out += char((value >> (8 * i)) & 0xff);
    };
    const quint32 pixelsAt = 14 + 40 + 256 * 4;
    out += "BM";
    le(quint32(size), 4);
    le(0, 4);
    le(pixelsAt, 4);
    le(40, 4); // BITMAPINFOHEADER
    le(Side, 4);
    le(Side, 4);
    le(1, 2);
    le(8, 2);
    le(0, 4);
    le(Side * Side, 4);
    le(2835, 4);
    le(2835, 4);
    le(256, 4);
    le(0, 4);
    for (int grey = 0; grey < 256; ++grey)
        le(quint32(grey) | quint32(grey) << 8 | quint32(grey) << 16, 4);
    Lcg random(263222);
    for (int y = 0; y < Side; ++y) {
        for (int x = 0; x < Side; ++x) {
            // Rings around the centre with a little noise on their edges.
            const int dx = x - Side / 2, dy = y - Side / 2;
            const int ring = (dx * dx + dy * dy) / 1500 + int(random.below(16) == 0);
            out += char(ring % 2 ? 0xff : 0x00);
        }
    }
    out.truncate(size);
    return out;
}

// A document in HTML: headings, paragraphs of prose, a table, like Autobahn's "Large
// HTML file".
QByteArray htmlData(qint64 size) {
    Lcg random(83484);
    QByteArray out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
                     "<title>Generated document</title></head>\n<body>\n";
    for (int section = 1; out.size() < size - 1024; ++section) {
        out += "<h2 id=\"s" + QByteArray::number(section) + "\">" + word(random) + ' ' +
               word(random) + "</h2>\n<p class=\"text\">" + prose(random, 300 + random.below(600)) +
               "</p>\n<table><tr><th>key</th><th>value</th></tr>";
        for (quint32 row = random.below(5); row > 0; --row)
            out += "<tr><td>" + word(random) + "</td><td>" +
                   QByteArray::number(random.below(1000)) + "</td></tr>";
        out += "</table>\n";
    }
    return closeAt(out, size, "<!-- ", " -->\n</body>\n</html>\n");
}

// Prose sent as binary, like Autobahn's "Goethe's Faust I (German)".
QByteArray proseData(qint64 size) {
    Lcg random(222218);
    return prose(random, size);
}

// A PDF's outline whose streams are pseudo-random bytes: mostly incompressible, like
// the compressed streams of Autobahn's "larger PDF".
QByteArray pdfData(qint64 size) {
    Lcg random(1042328);
    QByteArray out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
    for (int object = 1; out.size() < size - 4096; ++object) {
        const qint64 length = 2048 + random.below(8192);
        out += QByteArray::number(object) + " 0 obj\n<< /Length " + QByteArray::number(length) +
               " /Filter /FlateDecode >>\nstream\n";
        for (qint64 i = 0; i < length; ++i)
            out += char(random.next() & 0xff);
        out += "\nendstream\nendobj\n";
    }
    return closeAt(out, size, "%", "\ntrailer\n<< /Size 1 >>\n%%EOF\n");
}

// Autobahn's data sets of 12.1 to 12.5 (case12_x_x.py): what it calls them, whether
// they go as binary, and the generated stand-in of the same kind and size.
struct DataSet {
    QString autobahnName;
    QString standIn;
    bool binary = false;
    qint64 size = 0;
    QByteArray (*generate)(qint64) = nullptr;
};

const QList<DataSet> &dataSets() {
    static const QList<DataSet> sets = {
        {QStringLiteral("Large JSON data file (utf8, 194237 bytes)"),
         QStringLiteral("a JSON array of records"), false, 194237, jsonData},
        {QStringLiteral("Lena Picture, Bitmap 512x512 bw (binary, 263222 bytes)"),
         QStringLiteral("an 8-bit BMP of 512x512 black and white rings"), true, 263222, bitmapData},
        {QStringLiteral("Human readable text, Goethe's Faust I (German) (binary, 222218 bytes)"),
         QStringLiteral("prose"), true, 222218, proseData},
        {QStringLiteral("Large HTML file (utf8, 83484 bytes)"), QStringLiteral("an HTML document"),
         false, 83484, htmlData},
        {QStringLiteral("A larger PDF (binary, 1042328 bytes)"),
         QStringLiteral("a PDF outline with pseudo-random streams"), true, 1042328, pdfData},
    };
    return sets;
}

// The bytes of data set `index` (0..4), made once when a case first needs them (a
// window may build cases on another thread than the one that runs them).
QByteArray dataSetBytes(int index) {
    static QMutex mutex;
    static QList<QByteArray> made(dataSets().size());
    const QMutexLocker lock(&mutex);
    if (made.at(index).isEmpty())
        made[index] = dataSets().at(index).generate(dataSets().at(index).size);
    return made.at(index);
}

// Message i of a case: the next `size` bytes of the data set taken cyclically.
std::function<QByteArray(int)> cyclicPayload(int dataSet, qint64 size) {
    return [dataSet, size](int i) {
        const QByteArray data = dataSetBytes(dataSet);
        QByteArray out;
        out.reserve(size);
        qint64 from = (qint64(i) * size) % data.size();
        while (out.size() < size) {
            const qint64 take = std::min<qint64>(size - out.size(), data.size() - from);
            out.append(data.constData() + from, take);
            from = 0;
        }
        return out;
    };
}

// Autobahn's MSG_SIZES (case12_x_x.py), case index 1..18: payload length, message
// count, timeout in seconds, auto-fragment size.
struct MessageSize {
    qint64 length;
    int count;
    int timeoutSeconds;
    qint64 fragmentSize;
};
constexpr MessageSize MessageSizes[] = {
    {16, 1000, 60, 0},         {64, 1000, 60, 0},         {256, 1000, 120, 0},
    {1024, 1000, 240, 0},      {4096, 1000, 480, 0},      {8192, 1000, 480, 0},
    {16384, 1000, 480, 0},     {32768, 1000, 480, 0},     {65536, 1000, 480, 0},
    {131072, 1000, 480, 0},    {8192, 1000, 480, 256},    {16384, 1000, 480, 256},
    {32768, 1000, 480, 256},   {65536, 1000, 480, 256},   {131072, 1000, 480, 256},
    {131072, 1000, 480, 1024}, {131072, 1000, 480, 4096}, {131072, 1000, 480, 32768},
};

// One client offer as case13_x_x.py writes it: (requestNoContextTakeover,
// requestMaxWindowBits), 0 bits meaning "not asked".
struct Offer {
    bool noContextTakeover;
    int maxWindowBits;
};

DeflateConfig configFor(const Offer &offer) {
    DeflateConfig config;
    config.serverNoContextTakeover = offer.noContextTakeover;
    if (offer.maxWindowBits > 0)
        config.serverMaxWindowBits = offer.maxWindowBits;
    return config;
}

// The offer's element: server_max_window_bits goes out whenever it was asked for,
// 15 included (deflateOffer leaves out what equals the default).
ExtensionParams offerElement(const Offer &offer) {
    ExtensionParams element = deflateOffer(configFor(offer));
    if (offer.maxWindowBits == 15)
        element.params.append({"server_max_window_bits", QByteArray("15")});
    return element;
}

QString offerText(const QList<Offer> &offers) {
    QStringList parts;
    for (const Offer &offer : offers)
        parts.append(QStringLiteral("(%1, %2)")
                         .arg(offer.noContextTakeover ? u"True" : u"False")
                         .arg(offer.maxWindowBits));
    return u'[' + parts.join(QStringLiteral(", ")) + u']';
}

ProbeCase roundTripCase(const QString &id, const MessageSize &size, const QString &offerWords,
                        int dataSet, const QString &rfc) {
    const DataSet &data = dataSets().at(dataSet);
    ProbeCase c = makeCase(
        id,
        QStringLiteral("Send %1 compressed messages each of payload size %2, auto-fragment to %3 "
                       "octets. Use %4. Data: a generated stand-in for Autobahn's \"%5\" (%6, %7 "
                       "bytes, sent as %8): Autobahn's file is not redistributed.")
            .arg(size.count)
            .arg(size.length)
            .arg(size.fragmentSize)
            .arg(offerWords, data.autobahnName, data.standIn)
            .arg(data.size)
            .arg(data.binary ? u"binary" : u"text"),
        QStringLiteral("Receive echo'ed messages (with payload as sent). Timeout case after %1 "
                       "secs.")
            .arg(size.timeoutSeconds),
        rfc);
    c.steps = {RoundTrips{size.count, data.binary ? Opcode::Binary : Opcode::Text,
                          cyclicPayload(dataSet, size.length), size.fragmentSize},
               CloseAfter{size.timeoutSeconds * 1000}};
    c.timeoutMs = size.timeoutSeconds * 1000 + 5000;
    return c;
}

} // namespace

QByteArray deflateDataSet(int index) {
    return index >= 0 && index < dataSets().size() ? dataSetBytes(index) : QByteArray();
}

void appendDeflateCases(QList<ProbeCase> &cases) {
    for (int set = 0; set < dataSets().size(); ++set) {
        for (int index = 0; index < int(std::size(MessageSizes)); ++index) {
            ProbeCase c = roundTripCase(QStringLiteral("12.%1.%2").arg(set + 1).arg(index + 1),
                                        MessageSizes[index],
                                        QStringLiteral("default permessage-deflate offer"), set,
                                        QStringLiteral("RFC 7692 §7"));
            c.deflate = DeflateConfig{};
            cases.append(c);
        }
    }
    // case13_x_x.py's client offers, in the order of 13.1 to 13.7; 13.7 sends three
    // offers in one header (RFC 7692 §5: in order of preference, at most one accepted).
    const QList<QList<Offer>> offers = {
        {{false, 0}},
        {{true, 0}},
        {{false, 8}},
        {{false, 15}},
        {{true, 8}},
        {{true, 15}},
        {{true, 8}, {true, 0}, {false, 0}},
    };
    for (int o = 0; o < offers.size(); ++o) {
        for (int index = 0; index < int(std::size(MessageSizes)); ++index) {
            ProbeCase c = roundTripCase(
                QStringLiteral("13.%1.%2").arg(o + 1).arg(index + 1), MessageSizes[index],
                QStringLiteral("permessage-deflate client offers (requestNoContextTakeover, "
                               "requestMaxWindowBits): %1")
                    .arg(offerText(offers.at(o))),
                0, QStringLiteral("RFC 7692 §5, §7.1.1, §7.1.2"));
            c.deflate = configFor(offers.at(o).first());
            for (const Offer &offer : offers.at(o))
                c.deflateOffers.append(offerElement(offer));
            cases.append(c);
        }
    }
    const QString rfcRsv1 = QStringLiteral("RFC 7692 §6, §6.1");
    {
        ProbeCase c = makeCase(QStringLiteral("D.1.1"),
                               QStringLiteral("With permessage-deflate negotiated, send a text "
                                              "message in 2 fragments with RSV1 set on the "
                                              "continuation frame."),
                               QStringLiteral("The connection is failed immediately (1002): RSV1 "
                                              "marks only the first frame of a compressed "
                                              "message."),
                               rfcRsv1);
        c.deflate = DeflateConfig{};
        c.steps = {SendFrames{{frame(Text, "fragment1", false), frame(Cont, "fragment2", true, 4)},
                              Chop::whole()},
                   KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("D.1.2"),
                               QStringLiteral("With permessage-deflate negotiated, send a Ping "
                                              "with RSV1 set."),
                               QStringLiteral("The connection is failed immediately (1002): "
                                              "control frames are never compressed."),
                               rfcRsv1);
        c.deflate = DeflateConfig{};
        c.steps = {SendFrames{{frame(Ping, "ping", true, 4)}, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("D.1.3"),
                               QStringLiteral("With permessage-deflate negotiated, send a text "
                                              "message with RSV1 whose payload is not a DEFLATE "
                                              "stream."),
                               QStringLiteral("The connection is failed (1002 or 1007): the "
                                              "message cannot be inflated."),
                               QStringLiteral("RFC 7692 §6.2"));
        c.deflate = DeflateConfig{};
        c.steps = {
            SendFrames{{frame(Text, QByteArray::fromHex("ffffffffff"), true, 4)}, Chop::whole()},
            KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002, 1007});
        cases.append(c);
    }
}

} // namespace ws::probe
