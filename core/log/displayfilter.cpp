#include "displayfilter.h"

#include "protocol/frameheader.h"

#include <QByteArrayMatcher>
#include <QRegularExpression>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <variant>
#include <vector>

namespace ws::log {

namespace {

enum class Field : quint8 {
    Kind,
    Opcode,
    Fin,
    Rsv,
    Rsv1,
    Rsv2,
    Rsv3,
    Mask,
    MaskKey,
    Len,
    PayloadLen,
    WireLen,
    Frames,
    Dir,
    Conn,
    ConnId,
    Leg,
    CloseCode,
    CloseReason,
    Error,
    ErrorCode,
    Note,
    Rtt,
    Time,
    Text,
    Payload,
    Preview,
    Compressed,
    State,
    HttpStatus,
    Json,
};

using ValueType = DisplayFilter::ValueType;

struct FieldSpec {
    const char *name;
    Field field;
    ValueType type;
    const char *description;
};

// The documented field set; aliases follow their field.
const FieldSpec FieldSpecs[] = {
    {"kind", Field::Kind, ValueType::Name,
     "text, binary, continuation, ping, pong, close, reserved, error, note, handshake, state"},
    {"type", Field::Kind, ValueType::Name, "same as kind"},
    {"opcode", Field::Opcode, ValueType::Number,
     "the frame's opcode (0-15); a message's opcode when it has no header of its own"},
    {"fin", Field::Fin, ValueType::Flag, "FIN bit (frames)"},
    {"rsv", Field::Rsv, ValueType::Number, "RSV1-3 as a number: RSV1 = 4, RSV2 = 2, RSV3 = 1"},
    {"rsv1", Field::Rsv1, ValueType::Flag, "RSV1 bit (set by permessage-deflate)"},
    {"rsv2", Field::Rsv2, ValueType::Flag, "RSV2 bit"},
    {"rsv3", Field::Rsv3, ValueType::Flag, "RSV3 bit"},
    {"mask", Field::Mask, ValueType::Flag, "MASK bit"},
    {"masked", Field::Mask, ValueType::Flag, "same as mask"},
    {"mask.key", Field::MaskKey, ValueType::Number,
     "the masking key as a 32-bit number, e.g. mask.key == 0x37fa213d (masked frames)"},
    {"len", Field::Len, ValueType::Number,
     "frames: the payload length in the header; messages: payload bytes on the wire"},
    {"length", Field::Len, ValueType::Number, "same as len"},
    {"payload.len", Field::PayloadLen, ValueType::Number,
     "bytes of the payload as shown (unmasked, inflated)"},
    {"wire.len", Field::WireLen, ValueType::Number,
     "bytes on the wire: header and payload (frames)"},
    {"frames", Field::Frames, ValueType::Number, "how many frames carried the message"},
    {"dir", Field::Dir, ValueType::Name, "in (received), out (sent) or none (events)"},
    {"direction", Field::Dir, ValueType::Name, "same as dir"},
    {"conn", Field::Conn, ValueType::String,
     "the connection's name as the log shows it; conn == 3 compares the id"},
    {"connection", Field::Conn, ValueType::String, "same as conn"},
    {"conn.id", Field::ConnId, ValueType::Number, "the connection's number"},
    {"leg", Field::Leg, ValueType::Name,
     "a relayed pair's leg: client (facing the relay's client), server (facing the "
     "upstream) or none"},
    {"close.code", Field::CloseCode, ValueType::Number,
     "status code of a close frame or of the closed summary"},
    {"close.reason", Field::CloseReason, ValueType::String, "reason of a close frame"},
    {"error", Field::Error, ValueType::Name,
     "the rule a violation broke, e.g. error == InvalidUtf8; bare: any error row"},
    {"error.code", Field::ErrorCode, ValueType::Number,
     "the close code the connection was failed with (error rows)"},
    {"note", Field::Note, ValueType::Name, "a conformance note's kind"},
    {"rtt", Field::Rtt, ValueType::Number, "a pong's round trip, in milliseconds"},
    {"time", Field::Time, ValueType::Number, "seconds since the log's first row"},
    {"text", Field::Text, ValueType::String,
     "text of a text message, close reason, error or note (UTF-8)"},
    {"payload", Field::Payload, ValueType::Bytes, "the payload bytes, any kind"},
    {"preview", Field::Preview, ValueType::String, "the row's one-line summary as shown (slower)"},
    {"compressed", Field::Compressed, ValueType::Flag, "a message permessage-deflate carried"},
    {"state", Field::State, ValueType::Name,
     "a state row's state: connecting, open, closing, closed"},
    {"http.status", Field::HttpStatus, ValueType::Number, "a handshake's HTTP status"},
    {"json", Field::Json, ValueType::Json,
     "json.a.b[0] is a value inside a JSON text message; bare json: the text is a JSON object "
     "or array"},
};

const FieldSpec *findField(QStringView name) {
    for (const FieldSpec &spec : FieldSpecs) {
        if (name == QLatin1String(spec.name))
            return &spec;
    }
    return nullptr;
}

int editDistance(QStringView a, QStringView b) {
    std::vector<int> row(size_t(b.size() + 1));
    for (qsizetype j = 0; j <= b.size(); ++j)
        row[size_t(j)] = int(j);
    for (qsizetype i = 1; i <= a.size(); ++i) {
        int diagonal = row[0];
        row[0] = int(i);
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const int above = row[size_t(j)];
            row[size_t(j)] =
                std::min({above + 1, row[size_t(j - 1)] + 1,
                          diagonal + (a[i - 1].toLower() == b[j - 1].toLower() ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[size_t(b.size())];
}

QString suggestion(QStringView name, const QStringList &candidates) {
    QString best;
    int bestDistance = std::max<int>(2, int(name.size()) / 3) + 1;
    for (const QString &candidate : candidates) {
        const int distance = editDistance(name, candidate);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = candidate;
        }
    }
    return best;
}

QStringList fieldNameList() {
    QStringList names;
    for (const FieldSpec &spec : FieldSpecs)
        names.append(QLatin1String(spec.name));
    return names;
}

// The names a Name field takes.
const char *const DirectionNames[] = {"in", "out", "none"};
const char *const StateNames[] = {"connecting", "open", "closing", "closed"};
const char *const LegNames[] = {"client", "server", "none"};

QStringList namesOf(Field field) {
    QStringList names;
    switch (field) {
    case Field::Kind:
        for (int kind = 0; kind < LogKindCount; ++kind)
            names.append(QLatin1String(logKindName(LogKind(kind))));
        break;
    case Field::Dir:
        for (const char *name : DirectionNames)
            names.append(QLatin1String(name));
        break;
    case Field::State:
        for (const char *name : StateNames)
            names.append(QLatin1String(name));
        break;
    case Field::Leg:
        for (const char *name : LegNames)
            names.append(QLatin1String(name));
        break;
    case Field::Error:
        for (int error = 0; error <= int(ProtocolError::AbnormalClosure); ++error)
            names.append(QLatin1String(errorName(ProtocolError(error))));
        break;
    case Field::Note:
        for (int note = 0; note < 64; ++note) {
            const QLatin1String name(noteKindName(ConformanceNote::Kind(note)));
            if (name == QLatin1String("Unknown"))
                break;
            names.append(name);
        }
        break;
    default:
        break;
    }
    return names;
}

// Accepted spellings of a Name value besides the canonical one.
QString canonicalName(Field field, const QString &value) {
    const QString lower = value.toLower();
    if (field == Field::Dir) {
        if (lower == QLatin1String("received") || lower == QLatin1String("incoming"))
            return QStringLiteral("in");
        if (lower == QLatin1String("sent") || lower == QLatin1String("outgoing"))
            return QStringLiteral("out");
        if (lower == QLatin1String("undirected") || lower == QLatin1String("event"))
            return QStringLiteral("none");
    }
    if (field == Field::Kind || field == Field::Dir || field == Field::State || field == Field::Leg)
        return lower;
    return value;
}

// ---- Tokens ---------------------------------------------------------------

enum class Tok : quint8 {
    End,
    Identifier, // a field name or a bare word value
    Number,
    String,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    And,
    Or,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
    In,
    True,
    False,
    Null,
};

// A step of a JSON path: an object member or an array element.
struct PathStep {
    QByteArray key; // UTF-8
    int index = -1; // >= 0: an array element
};

struct Token {
    Tok kind = Tok::End;
    int column = 1; // 1-based
    int length = 0;
    QString text;           // identifiers: the name as written (json: "json")
    QByteArray string;      // strings: the decoded value (UTF-8)
    double number = 0;      // numbers
    qint64 integer = 0;     // numbers that are integers
    bool isInteger = false; // numbers
    bool jsonPath = false;  // identifiers: json with a path
    std::vector<PathStep> path;
};

struct CompileError {
    DisplayFilterError error;
};

[[noreturn]] void fail(const QString &message, int column, int length = 1) {
    throw CompileError{{message, column, std::max(1, length)}};
}

QString describe(const Token &token) {
    switch (token.kind) {
    case Tok::End:
        return QStringLiteral("the end");
    case Tok::String:
        return QStringLiteral("a string");
    case Tok::Number:
        return QStringLiteral("a number");
    default:
        return QStringLiteral("'%1'").arg(token.text);
    }
}

class Lexer {
public:
    explicit Lexer(const QString &text)
        : m_text(text) {}

    std::vector<Token> run() {
        std::vector<Token> tokens;
        for (;;) {
            skipSpace();
            Token token;
            token.column = int(m_pos) + 1;
            if (m_pos >= m_text.size()) {
                token.kind = Tok::End;
                tokens.push_back(token);
                return tokens;
            }
            const QChar c = m_text[m_pos];
            const qsizetype start = m_pos;
            if (c == QLatin1Char('"')) {
                lexString(token);
            } else if (c.isDigit() || ((c == QLatin1Char('-') || c == QLatin1Char('.')) &&
                                       m_pos + 1 < m_text.size() && m_text[m_pos + 1].isDigit())) {
                lexNumber(token);
            } else if (c.isLetter() || c == QLatin1Char('_')) {
                lexWord(token);
            } else {
                lexOperator(token);
            }
            token.length = int(m_pos - start);
            if (token.text.isEmpty())
                token.text = m_text.mid(start, m_pos - start);
            tokens.push_back(std::move(token));
        }
    }

private:
    void skipSpace() {
        while (m_pos < m_text.size() && m_text[m_pos].isSpace())
            ++m_pos;
    }
    bool at(char c, qsizetype offset = 0) const {
        return m_pos + offset < m_text.size() && m_text[m_pos + offset] == QLatin1Char(c);
    }

    static int hexValue(QChar c) {
        if (c >= QLatin1Char('0') && c <= QLatin1Char('9'))
            return c.unicode() - '0';
        if (c >= QLatin1Char('a') && c <= QLatin1Char('f'))
            return c.unicode() - 'a' + 10;
        if (c >= QLatin1Char('A') && c <= QLatin1Char('F'))
            return c.unicode() - 'A' + 10;
        return -1;
    }

    // Reads a double-quoted string starting at m_pos; the value as UTF-8.
    QByteArray readString() {
        const qsizetype open = m_pos;
        ++m_pos;
        // \xHH is a raw byte (payloads are bytes); everything else is text, in UTF-8.
        QByteArray value;
        QString run;
        const auto flush = [&] {
            value.append(run.toUtf8());
            run.clear();
        };
        for (;;) {
            if (m_pos >= m_text.size())
                fail(QStringLiteral("unterminated string: a closing \" is missing"), int(open) + 1,
                     int(m_pos - open));
            const QChar c = m_text[m_pos++];
            if (c == QLatin1Char('"'))
                break;
            if (c != QLatin1Char('\\')) {
                run.append(c);
                continue;
            }
            if (m_pos >= m_text.size())
                fail(QStringLiteral("unterminated string: a closing \" is missing"), int(open) + 1,
                     int(m_pos - open));
            const qsizetype escape = m_pos - 1;
            const QChar e = m_text[m_pos++];
            switch (e.unicode()) {
            case '"':
            case '\\':
            case '/':
                run.append(e);
                break;
            case 'n':
                run.append(QLatin1Char('\n'));
                break;
            case 't':
                run.append(QLatin1Char('\t'));
                break;
            case 'r':
                run.append(QLatin1Char('\r'));
                break;
            case '0':
                run.append(QChar(0));
                break;
            case 'x':
            case 'u': {
                const int digits = e == QLatin1Char('x') ? 2 : 4;
                int code = 0;
                for (int i = 0; i < digits; ++i) {
                    const int v = m_pos < m_text.size() ? hexValue(m_text[m_pos]) : -1;
                    if (v < 0)
                        fail(QStringLiteral("\\%1 needs %2 hex digits").arg(e).arg(digits),
                             int(escape) + 1, int(m_pos - escape) + 1);
                    code = code * 16 + v;
                    ++m_pos;
                }
                if (digits == 2) {
                    flush();
                    value.append(char(code));
                } else {
                    run.append(QChar(code));
                }
                break;
            }
            default:
                fail(QStringLiteral("unknown escape \\%1 (use \\\" \\\\ \\n \\t \\r \\0 \\xHH "
                                    "\\uHHHH)")
                         .arg(e),
                     int(escape) + 1, 2);
            }
        }
        flush();
        return value;
    }

    void lexString(Token &token) {
        token.kind = Tok::String;
        token.string = readString();
    }

    void lexNumber(Token &token) {
        const qsizetype start = m_pos;
        while (m_pos < m_text.size() &&
               (m_text[m_pos].isLetterOrNumber() || m_text[m_pos] == QLatin1Char('.') ||
                m_text[m_pos] == QLatin1Char('-') || m_text[m_pos] == QLatin1Char('_')))
            ++m_pos;
        const QString word = m_text.mid(start, m_pos - start);
        token.kind = Tok::Number;
        token.text = word;
        bool ok = false;
        const bool negative = word.startsWith(QLatin1Char('-'));
        const QStringView digits = QStringView(word).mid(negative ? 1 : 0);
        if (digits.startsWith(QLatin1String("0x"), Qt::CaseInsensitive)) {
            const qulonglong value = digits.mid(2).toULongLong(&ok, 16);
            if (!ok || value > quint64(std::numeric_limits<qint64>::max()))
                fail(QStringLiteral("'%1' is not a hexadecimal number").arg(word), int(start) + 1,
                     int(word.size()));
            token.integer = negative ? -qint64(value) : qint64(value);
            token.number = double(token.integer);
            token.isInteger = true;
            return;
        }
        const qlonglong integer = word.toLongLong(&ok, 10);
        if (ok) {
            token.integer = integer;
            token.number = double(integer);
            token.isInteger = true;
            return;
        }
        const double value = word.toDouble(&ok);
        if (!ok || !std::isfinite(value))
            fail(QStringLiteral("'%1' is not a number").arg(word), int(start) + 1,
                 int(word.size()));
        token.number = value;
    }

    void lexWord(Token &token) {
        const qsizetype start = m_pos;
        while (m_pos < m_text.size() &&
               (m_text[m_pos].isLetterOrNumber() || m_text[m_pos] == QLatin1Char('_') ||
                (m_text[m_pos] == QLatin1Char('.') && m_pos + 1 < m_text.size() &&
                 (m_text[m_pos + 1].isLetterOrNumber() || m_text[m_pos + 1] == QLatin1Char('_')))))
            ++m_pos;
        QString word = m_text.mid(start, m_pos - start);
        static const std::pair<const char *, Tok> keywords[] = {
            {"and", Tok::And},
            {"or", Tok::Or},
            {"not", Tok::Not},
            {"eq", Tok::Eq},
            {"ne", Tok::Ne},
            {"lt", Tok::Lt},
            {"le", Tok::Le},
            {"gt", Tok::Gt},
            {"ge", Tok::Ge},
            {"in", Tok::In},
            {"contains", Tok::Contains},
            {"matches", Tok::Matches},
            {"true", Tok::True},
            {"false", Tok::False},
            {"null", Tok::Null},
        };
        for (const auto &[name, kind] : keywords) {
            if (word == QLatin1String(name)) {
                token.kind = kind;
                token.text = word;
                return;
            }
        }
        token.kind = Tok::Identifier;
        if (word == QLatin1String("json") || word.startsWith(QLatin1String("json."))) {
            m_pos = start + 4;
            lexJsonPath(token);
            token.text = m_text.mid(start, m_pos - start);
            return;
        }
        token.text = word;
    }

    // json, then .key, ["key"] or [index] steps.
    void lexJsonPath(Token &token) {
        token.jsonPath = true;
        for (;;) {
            if (at('.')) {
                const qsizetype dot = m_pos++;
                const qsizetype start = m_pos;
                while (m_pos < m_text.size() &&
                       (m_text[m_pos].isLetterOrNumber() || m_text[m_pos] == QLatin1Char('_') ||
                        m_text[m_pos] == QLatin1Char('-') || m_text[m_pos] == QLatin1Char('$') ||
                        m_text[m_pos] == QLatin1Char('@')))
                    ++m_pos;
                if (m_pos == start)
                    fail(QStringLiteral("a member name must follow '.' in a JSON path (use "
                                        "[\"...\"] for other names)"),
                         int(dot) + 1, 1);
                token.path.push_back({m_text.mid(start, m_pos - start).toUtf8(), -1});
            } else if (at('[')) {
                const qsizetype open = m_pos++;
                skipSpace();
                if (at('"')) {
                    token.path.push_back({readString(), -1});
                } else {
                    const qsizetype start = m_pos;
                    while (m_pos < m_text.size() && m_text[m_pos].isDigit())
                        ++m_pos;
                    bool ok = false;
                    const int index = m_text.mid(start, m_pos - start).toInt(&ok);
                    if (!ok)
                        fail(QStringLiteral("'[' in a JSON path takes an array index or a "
                                            "quoted member name"),
                             int(open) + 1, int(m_pos - open) + 1);
                    token.path.push_back({{}, index});
                }
                skipSpace();
                if (!at(']'))
                    fail(QStringLiteral("missing ']' in the JSON path"), int(m_pos) + 1, 1);
                ++m_pos;
            } else {
                return;
            }
        }
    }

    void lexOperator(Token &token) {
        const QChar c = m_text[m_pos];
        const auto two = [&](char second) { return at(second, 1); };
        switch (c.unicode()) {
        case '(':
            token.kind = Tok::LParen;
            ++m_pos;
            return;
        case ')':
            token.kind = Tok::RParen;
            ++m_pos;
            return;
        case '{':
            token.kind = Tok::LBrace;
            ++m_pos;
            return;
        case '}':
            token.kind = Tok::RBrace;
            ++m_pos;
            return;
        case ',':
            token.kind = Tok::Comma;
            ++m_pos;
            return;
        case '~':
            token.kind = Tok::Matches;
            ++m_pos;
            return;
        case '&':
            if (two('&')) {
                token.kind = Tok::And;
                m_pos += 2;
                return;
            }
            fail(QStringLiteral("'&' alone is not an operator: use && or and"), int(m_pos) + 1);
        case '|':
            if (two('|')) {
                token.kind = Tok::Or;
                m_pos += 2;
                return;
            }
            fail(QStringLiteral("'|' alone is not an operator: use || or or"), int(m_pos) + 1);
        case '=':
            if (two('=')) {
                token.kind = Tok::Eq;
                m_pos += 2;
                return;
            }
            if (two('~')) {
                token.kind = Tok::Matches;
                m_pos += 2;
                return;
            }
            fail(QStringLiteral("'=' alone is not an operator: use == to compare"), int(m_pos) + 1);
        case '!':
            if (two('=')) {
                token.kind = Tok::Ne;
                m_pos += 2;
                return;
            }
            token.kind = Tok::Not;
            ++m_pos;
            return;
        case '<':
            token.kind = two('=') ? Tok::Le : Tok::Lt;
            m_pos += two('=') ? 2 : 1;
            return;
        case '>':
            token.kind = two('=') ? Tok::Ge : Tok::Gt;
            m_pos += two('=') ? 2 : 1;
            return;
        default:
            fail(QStringLiteral("unexpected character '%1'").arg(c), int(m_pos) + 1);
        }
    }

    const QString &m_text;
    qsizetype m_pos = 0;
};

// ---- The compiled program -------------------------------------------------

enum class Cmp : quint8 { Eq, Ne, Lt, Le, Gt, Ge, Contains, Matches, Present };

enum class LiteralType : quint8 { Integer, Real, String, Bool, Null };

struct Literal {
    LiteralType type = LiteralType::Integer;
    qint64 integer = 0;
    double real = 0;
    QByteArray string;
    bool boolean = false;
};

enum class NodeType : quint8 { And, Or, Not, Test, Constant };

struct Node {
    NodeType type = NodeType::Test;
    int left = -1;
    int right = -1;
    bool constant = false;
    // Tests.
    Field field = Field::Kind;
    Cmp cmp = Cmp::Present;
    Literal literal;
    int regex = -1;   // index into Program::regexes
    int matcher = -1; // index into Program::matchers (contains)
    std::vector<PathStep> path;
};

// A field's value in one record. Views point into the record or the context.
struct Value {
    enum Type : quint8 { Absent, Bool, Integer, Real, Bytes, Null, Composite } type = Absent;
    bool boolean = false;
    qint64 integer = 0;
    double real = 0;
    QByteArrayView bytes;
};

} // namespace

namespace detail {
struct FilterProgram {
    std::vector<Node> nodes;
    int root = -1;
    std::vector<QRegularExpression> regexes;
    std::vector<QByteArrayMatcher> matchers;
};
} // namespace detail

namespace {

using Program = detail::FilterProgram;

class Parser {
public:
    Parser(std::vector<Token> tokens, Program &program)
        : m_tokens(std::move(tokens))
        , m_program(program) {}

    int parse() {
        const int root = parseOr();
        const Token &next = peek();
        if (next.kind == Tok::RParen)
            fail(QStringLiteral("unexpected ')': no '(' is open"), next.column);
        if (next.kind != Tok::End)
            fail(QStringLiteral("unexpected %1: expected && or || between conditions")
                     .arg(describe(next)),
                 next.column, next.length);
        return root;
    }

    bool usesExtra = false;
    bool usesNames = false;
    bool usesJson = false;

private:
    const Token &peek() const { return m_tokens[m_pos]; }
    const Token &take() { return m_tokens[m_pos++]; }

    int add(Node node) {
        m_program.nodes.push_back(std::move(node));
        return int(m_program.nodes.size()) - 1;
    }
    int binary(NodeType type, int left, int right) {
        Node node;
        node.type = type;
        node.left = left;
        node.right = right;
        return add(std::move(node));
    }

    int parseOr() {
        int left = parseAnd();
        while (peek().kind == Tok::Or) {
            take();
            left = binary(NodeType::Or, left, parseAnd());
        }
        return left;
    }

    int parseAnd() {
        int left = parseUnary();
        while (peek().kind == Tok::And) {
            take();
            left = binary(NodeType::And, left, parseUnary());
        }
        return left;
    }

    int parseUnary() {
        if (peek().kind == Tok::Not) {
            take();
            return binary(NodeType::Not, parseUnary(), -1);
        }
        return parsePrimary();
    }

    int parsePrimary() {
        const Token &token = take();
        switch (token.kind) {
        case Tok::LParen: {
            const int inner = parseOr();
            const Token &close = peek();
            if (close.kind != Tok::RParen)
                fail(close.kind == Tok::End
                         ? QStringLiteral("missing ')' to close the '(' at column %1")
                               .arg(token.column)
                         : QStringLiteral("unexpected %1: expected ')' to close the '(' at "
                                          "column %2")
                               .arg(describe(close))
                               .arg(token.column),
                     close.column, close.length);
            take();
            return inner;
        }
        case Tok::Identifier:
            return parseTest(token);
        case Tok::True:
        case Tok::False: {
            Node node;
            node.type = NodeType::Constant;
            node.constant = token.kind == Tok::True;
            return add(std::move(node));
        }
        case Tok::End:
            fail(m_pos == 1 ? QStringLiteral("expected a field")
                            : QStringLiteral("the expression ends too early: expected a field, "
                                             "'!' or '('"),
                 token.column);
        case Tok::RParen:
            fail(QStringLiteral("unexpected ')': expected a field, '!' or '('"), token.column);
        case Tok::String:
            fail(QStringLiteral("a string cannot stand alone: compare a field with it, e.g. "
                                "text contains %1")
                     .arg(token.text),
                 token.column, token.length);
        case Tok::Number:
            fail(QStringLiteral("a number cannot stand alone: compare a field with it, e.g. "
                                "len > %1")
                     .arg(token.text),
                 token.column, token.length);
        default:
            fail(QStringLiteral("unexpected %1: expected a field, '!' or '('").arg(describe(token)),
                 token.column, token.length);
        }
    }

    static bool isComparison(Tok kind) {
        switch (kind) {
        case Tok::Eq:
        case Tok::Ne:
        case Tok::Lt:
        case Tok::Le:
        case Tok::Gt:
        case Tok::Ge:
        case Tok::Contains:
        case Tok::Matches:
            return true;
        default:
            return false;
        }
    }

    static Cmp cmpOf(Tok kind) {
        switch (kind) {
        case Tok::Eq:
            return Cmp::Eq;
        case Tok::Ne:
            return Cmp::Ne;
        case Tok::Lt:
            return Cmp::Lt;
        case Tok::Le:
            return Cmp::Le;
        case Tok::Gt:
            return Cmp::Gt;
        case Tok::Ge:
            return Cmp::Ge;
        case Tok::Contains:
            return Cmp::Contains;
        default:
            return Cmp::Matches;
        }
    }

    const FieldSpec &resolveField(const Token &token) {
        const FieldSpec *spec = findField(token.jsonPath ? QStringLiteral("json") : token.text);
        if (!spec) {
            const QString near = suggestion(token.text, fieldNameList());
            fail(near.isEmpty() ? QStringLiteral("unknown field '%1'").arg(token.text)
                                : QStringLiteral("unknown field '%1' (did you mean '%2'?)")
                                      .arg(token.text, near),
                 token.column, token.length);
        }
        switch (spec->field) {
        case Field::Error:
        case Field::Note:
        case Field::Preview:
        case Field::HttpStatus:
            usesExtra = true;
            break;
        case Field::Conn:
        case Field::Leg:
            usesNames = true;
            break;
        case Field::Json:
            usesJson = true;
            break;
        default:
            break;
        }
        return *spec;
    }

    int parseTest(const Token &fieldToken) {
        const FieldSpec &spec = resolveField(fieldToken);
        Node node;
        node.field = spec.field;
        node.path = fieldToken.path;
        const Token &op = peek();
        if (op.kind == Tok::In) {
            take();
            return parseSet(fieldToken, spec, node);
        }
        if (!isComparison(op.kind)) {
            node.cmp = Cmp::Present;
            return add(std::move(node));
        }
        take();
        node.cmp = cmpOf(op.kind);
        const Token &value = take();
        node.literal = literalFor(fieldToken, spec, op, value, node);
        return add(std::move(node));
    }

    // field in {a b c}: an Or of equalities.
    int parseSet(const Token &fieldToken, const FieldSpec &spec, const Node &prototype) {
        const Token &open = take();
        if (open.kind != Tok::LBrace)
            fail(QStringLiteral("'in' takes a set of values in braces, e.g. opcode in {1 2}"),
                 open.column, open.length);
        int result = -1;
        Token eq;
        eq.kind = Tok::Eq;
        eq.text = QStringLiteral("==");
        for (;;) {
            const Token &value = take();
            if (value.kind == Tok::RBrace) {
                if (result < 0)
                    fail(QStringLiteral("the set is empty"), value.column);
                return result;
            }
            if (value.kind == Tok::Comma)
                continue;
            if (value.kind == Tok::End)
                fail(QStringLiteral("missing '}' to close the set at column %1").arg(open.column),
                     value.column);
            Node node = prototype;
            node.cmp = Cmp::Eq;
            node.literal = literalFor(fieldToken, spec, eq, value, node);
            const int test = add(std::move(node));
            result = result < 0 ? test : binary(NodeType::Or, result, test);
        }
    }

    Literal literalFor(const Token &fieldToken, const FieldSpec &spec, const Token &op,
                       const Token &value, Node &node) {
        const QString opText = op.text;
        const QString field = fieldToken.text;
        const bool ordering = node.cmp == Cmp::Lt || node.cmp == Cmp::Le || node.cmp == Cmp::Gt ||
                              node.cmp == Cmp::Ge;
        const bool textual = node.cmp == Cmp::Contains || node.cmp == Cmp::Matches;
        Literal literal;
        switch (value.kind) {
        case Tok::Number:
            literal.type = value.isInteger ? LiteralType::Integer : LiteralType::Real;
            literal.integer = value.integer;
            literal.real = value.number;
            break;
        case Tok::String:
            literal.type = LiteralType::String;
            literal.string = value.string;
            break;
        case Tok::True:
        case Tok::False:
            literal.type = LiteralType::Bool;
            literal.boolean = value.kind == Tok::True;
            break;
        case Tok::Null:
            literal.type = LiteralType::Null;
            break;
        case Tok::In:
        case Tok::Identifier:
            // A bare word: a value name (dir == in, kind == ping).
            if (spec.type == ValueType::Name && !value.jsonPath) {
                literal.type = LiteralType::String;
                literal.string = value.text.toUtf8();
                break;
            }
            fail(QStringLiteral("expected a value after '%1', not the field '%2' (quote text: "
                                "\"%2\")")
                     .arg(opText, value.text),
                 value.column, value.length);
        case Tok::End:
            fail(QStringLiteral("expected a value after '%1'").arg(opText), value.column);
        default:
            fail(QStringLiteral("expected a value after '%1', found %2")
                     .arg(opText, describe(value)),
                 value.column, value.length);
        }

        const auto mismatch = [&](const QString &what) { fail(what, value.column, value.length); };
        if (textual) {
            if (literal.type != LiteralType::String)
                mismatch(
                    QStringLiteral("'%1' takes a string, e.g. %2 %1 \"abc\"").arg(opText, field));
            if (spec.type != ValueType::String && spec.type != ValueType::Bytes &&
                spec.type != ValueType::Name && spec.type != ValueType::Json)
                fail(QStringLiteral("'%1' applies to text; %2 is a %3")
                         .arg(opText, field,
                              spec.type == ValueType::Flag ? QStringLiteral("flag")
                                                           : QStringLiteral("number")),
                     op.column, op.length);
            if (node.cmp == Cmp::Matches) {
                // Case-insensitive as in Wireshark; (?-i) at the start turns that off.
                QRegularExpression regex(QString::fromUtf8(literal.string),
                                         QRegularExpression::CaseInsensitiveOption |
                                             QRegularExpression::UseUnicodePropertiesOption);
                if (!regex.isValid())
                    fail(QStringLiteral("invalid regular expression: %1 (at offset %2)")
                             .arg(regex.errorString())
                             .arg(regex.patternErrorOffset()),
                         value.column, value.length);
                regex.optimize();
                m_program.regexes.push_back(regex);
                node.regex = int(m_program.regexes.size()) - 1;
            } else {
                m_program.matchers.emplace_back(literal.string);
                node.matcher = int(m_program.matchers.size()) - 1;
            }
            return literal;
        }

        switch (spec.type) {
        case ValueType::Flag:
            if (ordering)
                fail(QStringLiteral("%1 is a flag: compare it with == or != (or use it bare)")
                         .arg(field),
                     op.column, op.length);
            if (literal.type == LiteralType::Integer &&
                (literal.integer == 0 || literal.integer == 1)) {
                literal.type = LiteralType::Bool;
                literal.boolean = literal.integer == 1;
            }
            if (literal.type != LiteralType::Bool)
                mismatch(
                    QStringLiteral("%1 is a flag: compare it with 0, 1, true or false").arg(field));
            break;
        case ValueType::Number:
            if (literal.type != LiteralType::Integer && literal.type != LiteralType::Real)
                mismatch(QStringLiteral("%1 is a number: it cannot be compared with %2")
                             .arg(field, describe(value)));
            break;
        case ValueType::String:
            if (spec.field == Field::Conn && (literal.type == LiteralType::Integer)) {
                // conn == 3: the connection's number.
                node.field = Field::ConnId;
                break;
            }
            [[fallthrough]];
        case ValueType::Bytes:
            if (literal.type != LiteralType::String)
                mismatch(QStringLiteral("%1 is text: compare it with a quoted string").arg(field));
            break;
        case ValueType::Name: {
            if (ordering)
                fail(QStringLiteral("%1 takes == or != (or in {...})").arg(field), op.column,
                     op.length);
            if (literal.type != LiteralType::String)
                mismatch(QStringLiteral("%1 is a name, e.g. %2")
                             .arg(field, namesOf(spec.field).value(0)));
            const QString name = canonicalName(spec.field, QString::fromUtf8(literal.string));
            const QStringList names = namesOf(spec.field);
            if (!names.contains(name)) {
                const QString near = suggestion(name, names);
                mismatch(QStringLiteral("unknown %1 '%2'%3: one of %4")
                             .arg(QLatin1String(spec.name), name,
                                  near.isEmpty()
                                      ? QString()
                                      : QStringLiteral(" (did you mean '%1'?)").arg(near),
                                  names.join(QStringLiteral(", "))));
            }
            literal.string = name.toUtf8();
            break;
        }
        case ValueType::Json:
            if (fieldToken.path.empty())
                fail(QStringLiteral("json needs a path to compare, e.g. json.type == \"x\""),
                     fieldToken.column, fieldToken.length);
            if (ordering && literal.type != LiteralType::Integer &&
                literal.type != LiteralType::Real && literal.type != LiteralType::String)
                mismatch(QStringLiteral("'%1' compares numbers or strings").arg(opText));
            break;
        }
        return literal;
    }

    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    Program &m_program;
};

// ---- JSON path walking ----------------------------------------------------

// Walks JSON text to one value without building a document. Lenient: only the
// parts on the way to the value are read.
class JsonWalker {
public:
    JsonWalker(QByteArrayView text, std::string &scratch)
        : m_p(text.data())
        , m_end(text.data() + text.size())
        , m_scratch(scratch) {}

    Value find(const std::vector<PathStep> &path) {
        skipSpace();
        for (const PathStep &step : path) {
            if (!(step.index >= 0 ? enterElement(step.index) : enterMember(step.key)))
                return {};
            skipSpace();
        }
        return valueHere();
    }

    // The text is a JSON object or array (bare `json`).
    bool isContainer() {
        skipSpace();
        const char *start = m_p;
        if (m_p >= m_end || (*m_p != '{' && *m_p != '['))
            return false;
        if (!skipValue())
            return false;
        skipSpace();
        return m_p == m_end && m_p > start;
    }

private:
    void skipSpace() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }

    // At '"': moves past the closing quote; the raw content in [begin, end).
    bool skipString(const char **begin = nullptr, const char **end = nullptr,
                    bool *escaped = nullptr) {
        if (m_p >= m_end || *m_p != '"')
            return false;
        ++m_p;
        const char *start = m_p;
        bool hasEscape = false;
        while (m_p < m_end && *m_p != '"') {
            if (*m_p == '\\') {
                hasEscape = true;
                ++m_p;
            }
            ++m_p;
        }
        if (m_p >= m_end)
            return false;
        if (begin)
            *begin = start;
        if (end)
            *end = m_p;
        if (escaped)
            *escaped = hasEscape;
        ++m_p;
        return true;
    }

    bool skipValue() {
        skipSpace();
        if (m_p >= m_end)
            return false;
        if (*m_p == '"')
            return skipString();
        if (*m_p == '{' || *m_p == '[') {
            int depth = 0;
            while (m_p < m_end) {
                const char c = *m_p;
                if (c == '"') {
                    if (!skipString())
                        return false;
                    continue;
                }
                if (c == '{' || c == '[')
                    ++depth;
                else if (c == '}' || c == ']') {
                    if (--depth == 0) {
                        ++m_p;
                        return true;
                    }
                }
                ++m_p;
            }
            return false;
        }
        const char *start = m_p;
        while (m_p < m_end && *m_p != ',' && *m_p != '}' && *m_p != ']' && *m_p != ' ' &&
               *m_p != '\t' && *m_p != '\n' && *m_p != '\r')
            ++m_p;
        return m_p > start;
    }

    // Decodes a string's raw content into the scratch buffer (UTF-8).
    QByteArrayView decode(const char *begin, const char *end) {
        m_scratch.clear();
        for (const char *p = begin; p < end; ++p) {
            if (*p != '\\') {
                m_scratch.push_back(*p);
                continue;
            }
            if (++p >= end)
                break;
            switch (*p) {
            case 'b':
                m_scratch.push_back('\b');
                break;
            case 'f':
                m_scratch.push_back('\f');
                break;
            case 'n':
                m_scratch.push_back('\n');
                break;
            case 'r':
                m_scratch.push_back('\r');
                break;
            case 't':
                m_scratch.push_back('\t');
                break;
            case 'u': {
                const auto hex4 = [&](const char *q, char32_t &out) {
                    if (end - q < 4)
                        return false;
                    out = 0;
                    for (int i = 0; i < 4; ++i) {
                        const char c = q[i];
                        const int v = c >= '0' && c <= '9'   ? c - '0'
                                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                             : -1;
                        if (v < 0)
                            return false;
                        out = out * 16 + char32_t(v);
                    }
                    return true;
                };
                char32_t code = 0;
                if (!hex4(p + 1, code))
                    break;
                p += 4;
                if (code >= 0xD800 && code < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
                    char32_t low = 0;
                    if (hex4(p + 3, low) && low >= 0xDC00 && low < 0xE000) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        p += 6;
                    }
                }
                if (code < 0x80) {
                    m_scratch.push_back(char(code));
                } else if (code < 0x800) {
                    m_scratch.push_back(char(0xC0 | (code >> 6)));
                    m_scratch.push_back(char(0x80 | (code & 0x3F)));
                } else if (code < 0x10000) {
                    m_scratch.push_back(char(0xE0 | (code >> 12)));
                    m_scratch.push_back(char(0x80 | ((code >> 6) & 0x3F)));
                    m_scratch.push_back(char(0x80 | (code & 0x3F)));
                } else {
                    m_scratch.push_back(char(0xF0 | (code >> 18)));
                    m_scratch.push_back(char(0x80 | ((code >> 12) & 0x3F)));
                    m_scratch.push_back(char(0x80 | ((code >> 6) & 0x3F)));
                    m_scratch.push_back(char(0x80 | (code & 0x3F)));
                }
                break;
            }
            default:
                m_scratch.push_back(*p);
                break;
            }
        }
        return QByteArrayView(m_scratch.data(), qsizetype(m_scratch.size()));
    }

    bool enterMember(const QByteArray &key) {
        if (m_p >= m_end || *m_p != '{')
            return false;
        ++m_p;
        for (;;) {
            skipSpace();
            const char *begin = nullptr;
            const char *end = nullptr;
            bool escaped = false;
            if (!skipString(&begin, &end, &escaped))
                return false;
            const QByteArrayView name =
                escaped ? decode(begin, end) : QByteArrayView(begin, end - begin);
            const bool found = name == QByteArrayView(key);
            skipSpace();
            if (m_p >= m_end || *m_p != ':')
                return false;
            ++m_p;
            skipSpace();
            if (found)
                return true;
            if (!skipValue())
                return false;
            skipSpace();
            if (m_p >= m_end || *m_p != ',')
                return false;
            ++m_p;
        }
    }

    bool enterElement(int index) {
        if (m_p >= m_end || *m_p != '[')
            return false;
        ++m_p;
        for (int i = 0;; ++i) {
            skipSpace();
            if (m_p < m_end && *m_p == ']')
                return false;
            if (i == index)
                return true;
            if (!skipValue())
                return false;
            skipSpace();
            if (m_p >= m_end || *m_p != ',')
                return false;
            ++m_p;
        }
    }

    Value valueHere() {
        Value value;
        if (m_p >= m_end)
            return value;
        const char c = *m_p;
        if (c == '"') {
            const char *begin = nullptr;
            const char *end = nullptr;
            bool escaped = false;
            if (!skipString(&begin, &end, &escaped))
                return value;
            value.type = Value::Bytes;
            value.bytes = escaped ? decode(begin, end) : QByteArrayView(begin, end - begin);
            return value;
        }
        if (c == '{' || c == '[') {
            const char *start = m_p;
            if (!skipValue())
                return value;
            value.type = Value::Composite;
            value.bytes = QByteArrayView(start, m_p - start);
            return value;
        }
        const char *start = m_p;
        if (!skipValue())
            return value;
        const QByteArrayView word(start, m_p - start);
        if (word == "true" || word == "false") {
            value.type = Value::Bool;
            value.boolean = word == "true";
        } else if (word == "null") {
            value.type = Value::Null;
        } else {
            double number = 0;
            const auto [end, error] = std::from_chars(start, m_p, number);
            if (error != std::errc() || end != m_p)
                return value;
            value.type = Value::Real;
            value.real = number;
        }
        return value;
    }

    const char *m_p;
    const char *m_end;
    std::string &m_scratch;
};

// ---- Evaluation -----------------------------------------------------------

int opcodeOfKind(LogKind kind) {
    switch (kind) {
    case LogKind::Text:
        return 0x1;
    case LogKind::Binary:
        return 0x2;
    case LogKind::Continuation:
        return 0x0;
    case LogKind::Close:
        return 0x8;
    case LogKind::Ping:
        return 0x9;
    case LogKind::Pong:
        return 0xA;
    default:
        return -1;
    }
}

bool carriesPayload(LogKind kind) {
    switch (kind) {
    case LogKind::Text:
    case LogKind::Binary:
    case LogKind::Continuation:
    case LogKind::Ping:
    case LogKind::Pong:
    case LogKind::Close:
    case LogKind::Reserved:
        return true;
    default:
        return false;
    }
}

Value integerValue(qint64 integer) {
    Value value;
    value.type = Value::Integer;
    value.integer = integer;
    return value;
}

Value boolValue(bool on) {
    Value value;
    value.type = Value::Bool;
    value.boolean = on;
    return value;
}

Value bytesValue(QByteArrayView bytes) {
    Value value;
    value.type = Value::Bytes;
    value.bytes = bytes;
    return value;
}

template <typename T> bool ordered(Cmp cmp, const T &a, const T &b) {
    switch (cmp) {
    case Cmp::Eq:
        return a == b;
    case Cmp::Ne:
        return a != b;
    case Cmp::Lt:
        return a < b;
    case Cmp::Le:
        return a <= b;
    case Cmp::Gt:
        return a > b;
    case Cmp::Ge:
        return a >= b;
    default:
        return false;
    }
}

} // namespace

QString DisplayFilterError::toString() const {
    if (message.isEmpty())
        return {};
    return QStringLiteral("column %1: %2").arg(column).arg(message);
}

void DisplayFilterContext::setConnectionLeg(quint32 connection, Leg leg) {
    if (leg == Leg::None)
        m_legs.remove(connection);
    else
        m_legs.insert(connection, leg);
}

Leg DisplayFilterContext::connectionLeg(quint32 connection) const {
    return m_legs.value(connection, Leg::None);
}

void DisplayFilterContext::setConnections(const QHash<quint32, ConnectionInfo> &connections) {
    m_names.clear();
    m_legs.clear();
    for (auto it = connections.cbegin(); it != connections.cend(); ++it) {
        setConnectionName(it.key(), it->name);
        setConnectionLeg(it.key(), it->leg);
    }
}

void DisplayFilterContext::setConnectionNames(const QHash<quint32, QString> &names) {
    m_names.clear();
    for (auto it = names.cbegin(); it != names.cend(); ++it)
        setConnectionName(it.key(), it.value());
}

void DisplayFilterContext::setConnectionName(quint32 connection, const QString &name) {
    if (name.isEmpty())
        m_names.remove(connection);
    else
        m_names.insert(connection, name.toUtf8());
}

QByteArrayView DisplayFilterContext::connectionName(quint32 connection) {
    const auto it = m_names.constFind(connection);
    if (it != m_names.cend())
        return *it;
    // The log's own fallback for a connection without a name.
    m_unnamed = "#" + QByteArray::number(connection);
    return m_unnamed;
}

DisplayFilter::DisplayFilter() = default;
DisplayFilter::~DisplayFilter() = default;
DisplayFilter::DisplayFilter(const DisplayFilter &) = default;
DisplayFilter &DisplayFilter::operator=(const DisplayFilter &) = default;
DisplayFilter::DisplayFilter(DisplayFilter &&) noexcept = default;
DisplayFilter &DisplayFilter::operator=(DisplayFilter &&) noexcept = default;

bool DisplayFilter::isEmpty() const {
    return isValid() && !m_program;
}

DisplayFilter DisplayFilter::compile(const QString &text) {
    DisplayFilter filter;
    filter.m_text = text;
    if (text.trimmed().isEmpty())
        return filter;
    auto program = std::make_shared<detail::FilterProgram>();
    try {
        Parser parser(Lexer(text).run(), *program);
        program->root = parser.parse();
        filter.m_needsExtra = parser.usesExtra;
        filter.m_usesNames = parser.usesNames;
        filter.m_usesJson = parser.usesJson;
        filter.m_program = std::move(program);
    } catch (const CompileError &e) {
        filter.m_error = e.error;
    }
    return filter;
}

namespace {

struct Evaluator {
    const Program &program;
    const LogRecord &record;
    const LogRecordExtra *extra;
    DisplayFilterContext &context;
    QStringDecoder &decoder;
    std::u16string &textScratch;
    std::string &jsonScratch;
    qint64 timeOriginUs;
    QString previewScratch;

    bool eval(int index) {
        const Node &node = program.nodes[size_t(index)];
        switch (node.type) {
        case NodeType::And:
            return eval(node.left) && eval(node.right);
        case NodeType::Or:
            return eval(node.left) || eval(node.right);
        case NodeType::Not:
            return !eval(node.left);
        case NodeType::Constant:
            return node.constant;
        case NodeType::Test:
            return test(node);
        }
        return false;
    }

    Value field(const Node &node, QByteArrayView connectionName) {
        const bool frame = record.isFrame();
        switch (node.field) {
        case Field::Kind:
            return bytesValue(logKindName(record.kind));
        case Field::Opcode: {
            if (frame)
                return integerValue(record.headerByte0 & OpcodeMask);
            const int opcode = opcodeOfKind(record.kind);
            return opcode < 0 ? Value{} : integerValue(opcode);
        }
        case Field::Fin:
            return frame ? boolValue(record.headerByte0 & FinBit) : Value{};
        case Field::Rsv:
            return frame ? integerValue((record.headerByte0 & RsvBitsMask) >> RsvBitsShift)
                         : Value{};
        case Field::Rsv1:
            return frame ? boolValue(record.headerByte0 & 0x40) : Value{};
        case Field::Rsv2:
            return frame ? boolValue(record.headerByte0 & 0x20) : Value{};
        case Field::Rsv3:
            return frame ? boolValue(record.headerByte0 & 0x10) : Value{};
        case Field::Mask:
            return frame ? boolValue(record.headerByte1 & MaskBit) : Value{};
        case Field::MaskKey:
            return frame && (record.headerByte1 & MaskBit) ? integerValue(record.maskingKey)
                                                           : Value{};
        case Field::Len:
            return carriesPayload(record.kind) ? integerValue(qint64(record.length)) : Value{};
        case Field::PayloadLen:
            return carriesPayload(record.kind) ? integerValue(record.payload.size()) : Value{};
        case Field::WireLen: {
            if (!frame)
                return {};
            const int encoding = record.headerByte1 & 0x03;
            const qint64 header = 2 +
                                  (encoding == 1   ? 2
                                   : encoding == 2 ? 8
                                                   : 0) +
                                  ((record.headerByte1 & MaskBit) ? 4 : 0);
            return integerValue(header + qint64(record.length));
        }
        case Field::Frames:
            return record.frameCount > 0 ? integerValue(record.frameCount) : Value{};
        case Field::Dir:
            return bytesValue(record.has(LogRecord::Undirected) ? "none"
                              : record.has(LogRecord::Outgoing) ? "out"
                                                                : "in");
        case Field::Conn:
            return bytesValue(connectionName);
        case Field::ConnId:
            return integerValue(record.connection);
        case Field::Leg:
            return bytesValue(legName(context.connectionLeg(record.connection)));
        case Field::CloseCode:
            if (record.has(LogRecord::HasCloseCode) &&
                (record.kind == LogKind::Close || record.has(LogRecord::ClosedSummary)))
                return integerValue(record.closeCode);
            return {};
        case Field::CloseReason:
            if (record.kind == LogKind::Close && record.payload.size() >= 2)
                return bytesValue(QByteArrayView(record.payload).sliced(2));
            return {};
        case Field::Error:
            if (record.kind != LogKind::Error)
                return {};
            if (extra && extra->error)
                return bytesValue(errorName(*extra->error));
            // A connection-level error (refused, TLS): an error without a rule.
            return bytesValue("");
        case Field::ErrorCode:
            return record.kind == LogKind::Error && record.closeCode
                       ? integerValue(record.closeCode)
                       : Value{};
        case Field::Note:
            if (extra && !extra->notes.isEmpty())
                return bytesValue(noteKindName(extra->notes.first().kind));
            return {};
        case Field::Rtt:
            if (!record.has(LogRecord::HasRoundTrip))
                return {};
            {
                Value value;
                value.type = Value::Real;
                value.real = double(record.roundTripUs) / 1000.0;
                return value;
            }
        case Field::Time: {
            Value value;
            value.type = Value::Real;
            value.real = double(record.timestampUs - timeOriginUs) / 1e6;
            return value;
        }
        case Field::Text:
            switch (record.kind) {
            case LogKind::Text:
            case LogKind::Error:
            case LogKind::Note:
                return bytesValue(record.payload);
            case LogKind::Close:
                return record.payload.size() >= 2
                           ? bytesValue(QByteArrayView(record.payload).sliced(2))
                           : Value{};
            default:
                return {};
            }
        case Field::Payload:
            return carriesPayload(record.kind) || record.kind == LogKind::Error ||
                           record.kind == LogKind::Note
                       ? bytesValue(record.payload)
                       : Value{};
        case Field::Preview:
            // Allocates: the preview is built as the log would paint it.
            previewScratch = recordPreview(record, extra);
            jsonScratch = previewScratch.toStdString();
            return bytesValue(QByteArrayView(jsonScratch.data(), qsizetype(jsonScratch.size())));
        case Field::Compressed:
            return boolValue(record.has(LogRecord::Compressed));
        case Field::State:
            if (record.kind != LogKind::State || record.has(LogRecord::ClosedSummary))
                return record.has(LogRecord::ClosedSummary) ? bytesValue("closed") : Value{};
            return bytesValue(ws::stateName(record.state()));
        case Field::HttpStatus:
            return record.kind == LogKind::Handshake && extra && extra->httpStatus
                       ? integerValue(extra->httpStatus)
                       : Value{};
        case Field::Json: {
            if (record.kind != LogKind::Text)
                return {};
            JsonWalker walker(record.payload, jsonScratch);
            if (node.path.empty())
                return walker.isContainer() ? boolValue(true) : Value{};
            return walker.find(node.path);
        }
        }
        return {};
    }

    bool matchRegex(const QRegularExpression &regex, QByteArrayView bytes) {
        textScratch.resize(size_t(decoder.requiredSpace(bytes.size())));
        decoder.resetState();
        QChar *begin = reinterpret_cast<QChar *>(textScratch.data());
        QChar *end = decoder.appendToBuffer(begin, bytes);
        return regex.match(QStringView(begin, end - begin)).hasMatch();
    }

    bool test(const Node &node) {
        const Value value =
            field(node, node.field == Field::Conn ? context.connectionName(record.connection)
                                                  : QByteArrayView());
        if (value.type == Value::Absent)
            return false;
        const Literal &literal = node.literal;
        switch (node.cmp) {
        case Cmp::Present:
            return value.type == Value::Bool ? value.boolean : true;
        case Cmp::Contains:
            if (value.type != Value::Bytes && value.type != Value::Composite)
                return false;
            return program.matchers[size_t(node.matcher)].indexIn(value.bytes) >= 0;
        case Cmp::Matches:
            if (value.type != Value::Bytes && value.type != Value::Composite)
                return false;
            return matchRegex(program.regexes[size_t(node.regex)], value.bytes);
        default:
            break;
        }
        switch (value.type) {
        case Value::Bool:
            if (literal.type == LiteralType::Bool)
                return ordered(node.cmp, value.boolean, literal.boolean);
            if (literal.type == LiteralType::Integer)
                return ordered(node.cmp, qint64(value.boolean), literal.integer);
            return node.cmp == Cmp::Ne;
        case Value::Integer:
            if (literal.type == LiteralType::Integer)
                return ordered(node.cmp, value.integer, literal.integer);
            if (literal.type == LiteralType::Real)
                return ordered(node.cmp, double(value.integer), literal.real);
            return node.cmp == Cmp::Ne;
        case Value::Real:
            if (literal.type == LiteralType::Integer || literal.type == LiteralType::Real)
                return ordered(node.cmp, value.real, literal.real);
            return node.cmp == Cmp::Ne;
        case Value::Bytes:
            if (literal.type == LiteralType::String)
                return ordered(node.cmp, value.bytes.compare(QByteArrayView(literal.string)), 0);
            return node.cmp == Cmp::Ne;
        case Value::Null:
            return literal.type == LiteralType::Null ? node.cmp == Cmp::Eq : node.cmp == Cmp::Ne;
        case Value::Composite:
            return node.cmp == Cmp::Ne;
        case Value::Absent:
            break;
        }
        return false;
    }
};

} // namespace

bool DisplayFilter::matches(const LogRecord &record, const LogRecordExtra *extra,
                            DisplayFilterContext &context) const {
    if (!isValid())
        return false;
    if (!m_program)
        return true;
    Evaluator evaluator{*m_program,
                        record,
                        extra,
                        context,
                        context.m_decoder,
                        context.m_textScratch,
                        context.m_jsonScratch,
                        context.m_timeOriginUs,
                        {}};
    return evaluator.eval(m_program->root);
}

const QList<DisplayFilter::FieldInfo> &DisplayFilter::fields() {
    static const QList<FieldInfo> list = [] {
        QList<FieldInfo> result;
        for (const FieldSpec &spec : FieldSpecs)
            result.append({spec.name, spec.type, spec.description});
        return result;
    }();
    return list;
}

QString DisplayFilter::syntaxHelp() {
    QString help = QStringLiteral(
        "Display filter: show the rows for which the expression is true.\n"
        "\n"
        "  opcode == 9            len > 125 && !fin        rsv1\n"
        "  close.code == 1002     dir == in                conn == \"client 2\"\n"
        "  leg == server          leg == client && dir == in\n"
        "  text ~ \"err(or)?\"      text contains \"bye\"      json.type == \"subscribe\"\n"
        "  json.items[0].id >= 10 kind in {ping pong}      error == InvalidUtf8\n"
        "\n"
        "Comparisons: == != < <= > >= (or eq ne lt le gt ge), contains, ~ (or matches: a\n"
        "case-insensitive regular expression), field in {a b c}.\n"
        "Logic: && || ! (or and or not), parentheses. A bare field is true when the row\n"
        "has it and, for a flag, when it is set. A row without the field fails every\n"
        "comparison on it.\n"
        "Values: numbers (125, 0x7d, 0.5), strings in double quotes (\\\" \\\\ \\n \\t, \\xHH a\n"
        "byte, \\uHHHH a character), true, false, null, and names for kind, dir, state, leg, error "
        "and note.\n"
        "\n"
        "Fields:\n");
    for (const FieldSpec &spec : FieldSpecs)
        help += QStringLiteral("  %1  %2\n")
                    .arg(QLatin1String(spec.name), -12)
                    .arg(QLatin1String(spec.description));
    return help;
}

} // namespace ws::log
