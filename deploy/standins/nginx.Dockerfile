# A stand-in for the nginx image, from Debian's packages (nginx 1.22 in
# bookworm), for machines that reach no image registry. Like the official
# image it reads /etc/nginx/nginx.conf, stays in the foreground and logs to
# the container's output.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
