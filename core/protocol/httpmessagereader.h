#pragma once

#include "protocol/httpheaders.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <optional>

namespace ws {

// Finds where each HTTP/1.1 message of a request or response stream begins and ends
// (RFC 9112 §6), so that messages can be passed on byte-exact one by one: the head is
// read by HeaderBlockReader, the body is only measured (Content-Length, chunked
// Transfer-Encoding with its trailer section, or until the connection closes), never
// held. Bytes arrive in any chunking; what is held at any time is bounded by the head
// limit and by the longest chunk-size line.
//
//   reader.feed(bytes, &consumed) -> HeadComplete   the first `consumed` bytes end a head
//                                 -> NeedMore       all `consumed` bytes belong to the body
//                                 -> MessageComplete the message ends `consumed` bytes in
//
// A response stream needs the method of each request it answers (a response to HEAD
// has no body, RFC 9112 §6.3): expectResponseTo() queues them in order.
class HttpMessageReader {
public:
    enum class Kind { Request, Response };
    struct Limits {
        qsizetype maxHeadBytes = 16 * 1024;
        int maxHeaderFields = 100;
        // A chunk-size line with its extensions (RFC 9112 §7.1.1), CRLF included.
        qsizetype maxChunkLineBytes = 4096;
    };
    enum class Result {
        NeedMore,
        HeadComplete,    // head() holds the message's head; its body follows
        MessageComplete, // the next byte starts the next message
        // After a 101 response, or a 2xx answer to CONNECT (RFC 9110 §9.3.6), the
        // stream is no longer HTTP: feed() takes nothing more.
        Switched,
        EndOfStream, // endOfStream() between messages: a clean end
        Error,       // errorString() says what; feed() takes nothing more
    };
    enum class BodyKind {
        None,
        ContentLength,
        Chunked,
        UntilClose, // a response read until the connection closes (RFC 9112 §6.3 item 8)
    };

    HttpMessageReader(Kind kind, Limits limits);

    // Takes bytes up to the next boundary (end of head, end of message) and sets
    // `*consumed` to how many of `data` it took. Called again with the rest (or with
    // nothing: a message without a body completes without more bytes).
    Result feed(QByteArrayView data, qsizetype *consumed);
    // The stream ended: MessageComplete for a body read until the close, EndOfStream
    // between messages, Error inside one.
    Result endOfStream();
    // The method of the next request whose response this stream carries.
    void expectResponseTo(QByteArray method) { m_requestMethods.append(std::move(method)); }

    // The head of the message under way (or the last one), once HeadComplete came.
    const HeaderBlockReader &head() const { return *m_head; }
    BodyKind bodyKind() const { return m_bodyKind; }
    // The trailer fields of a chunked message, once it is complete.
    HttpHeaders trailers() const;
    // A 1xx response other than 101: the final response to the same request follows.
    bool isInterimResponse() const { return m_interim; }
    // The last message switched protocols (101, or 2xx to CONNECT).
    bool hasSwitched() const { return m_state == State::Switched; }
    // Nothing of a next message has been taken yet.
    bool isAtMessageStart() const { return m_state == State::Head && m_headBytes == 0; }
    // Bytes of the current message taken so far.
    qint64 messageBytes() const { return m_messageBytes; }
    QString errorString() const { return m_error; }

private:
    enum class State {
        Head,
        Body,      // ContentLength, UntilClose
        ChunkLine, // chunk-size [ chunk-ext ] CRLF
        ChunkData, // the chunk's bytes
        ChunkEnd,  // the CRLF after a chunk's bytes
        Trailers,  // trailer section after the last chunk
        BodyDone,  // a body-less message: completes on the next feed()
        Switched,
        Failed,
    };

    Result feedHead(QByteArrayView data, qsizetype *consumed);
    Result startBody();
    Result feedChunkLine(QByteArrayView data, qsizetype *consumed);
    Result feedChunkEnd(QByteArrayView data, qsizetype *consumed);
    Result feedTrailers(QByteArrayView data, qsizetype *consumed);
    Result messageComplete();
    Result fail(QString why);

    Kind m_kind;
    Limits m_limits;
    State m_state = State::Head;
    std::optional<HeaderBlockReader> m_head;
    qsizetype m_headBytes = 0;
    BodyKind m_bodyKind = BodyKind::None;
    bool m_interim = false;
    bool m_switches = false;
    qint64 m_remaining = 0; // of the Content-Length body or of the chunk
    qint64 m_messageBytes = 0;
    QByteArray m_line; // the chunk-size line or the chunk's CRLF so far
    std::optional<HeaderBlockReader> m_trailers;
    QList<QByteArray> m_requestMethods;
    QString m_error;
};

} // namespace ws
